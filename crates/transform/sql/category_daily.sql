-- Per top-level category and day, over each item's last observation of the day.
WITH last_of_day AS (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY item_id, CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
        FROM obs WHERE sale_price IS NOT NULL AND category IS NOT NULL
    ) WHERE rn = 1
)
SELECT CAST(observed_at AS DATE) AS date, category,
       COUNT(DISTINCT item_id) AS items,
       median(sale_price) AS median_price,
       AVG(sale_price) AS mean_price,
       AVG(CASE WHEN rollback OR clearance OR msrp > sale_price THEN 1.0 ELSE 0.0 END) AS share_discounted,
       AVG(CASE WHEN stock IN ('Available', 'Limited Supply') THEN 1.0 ELSE 0.0 END) AS share_in_stock
FROM last_of_day
GROUP BY 1, 2
ORDER BY date, category
