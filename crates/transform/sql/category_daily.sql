-- Per top-level category and day, over each item's last observation of the day (the day's
-- `discounts` rows; items whose last observation has no category are left out).
SELECT date, category,
       COUNT(DISTINCT item_id) AS items,
       median(sale_price) AS median_price,
       AVG(sale_price) AS mean_price,
       AVG(CASE WHEN rollback OR clearance OR msrp > sale_price THEN 1.0 ELSE 0.0 END) AS share_discounted,
       AVG(CASE WHEN stock IN ('Available', 'Limited Supply') THEN 1.0 ELSE 0.0 END) AS share_in_stock
FROM discounts
WHERE category IS NOT NULL
GROUP BY 1, 2
ORDER BY date, category
