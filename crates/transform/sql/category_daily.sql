-- Per top-level category and day, over each item's last observation of the day (the day's
-- `discounts` rows; items whose last observation has no category are left out).
-- `share_discounted`: the share of items on rollback, on clearance, or selling below their
-- msrp. `share_in_stock`: the share whose stock is known and is anything but
-- 'Not available' ('Available', 'Limited Supply', 'Last few items', ...); an item without a
-- stock value is not counted in stock.
SELECT date, category,
       COUNT(DISTINCT item_id) AS items,
       median(sale_price) AS median_price,
       AVG(sale_price) AS mean_price,
       AVG(CASE WHEN rollback OR clearance OR msrp > sale_price THEN 1.0 ELSE 0.0 END) AS share_discounted,
       AVG(CASE WHEN stock IS NOT NULL AND stock <> 'Not available' THEN 1.0 ELSE 0.0 END) AS share_in_stock
FROM discounts
WHERE category IS NOT NULL
GROUP BY 1, 2
ORDER BY date, category
