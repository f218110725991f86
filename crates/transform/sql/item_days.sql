-- Per item and day: each stretch of observations with the same attributes (name, brand,
-- category path), in time order; an item renamed during the day has two. Kept by day like
-- the marts it sits beside, so that the `items` table's history is rebuilt each run from a
-- few rows per item and day instead of from every observation.
WITH marked AS (
    SELECT item_id, observed_at, name, brand, category_path, category,
           CASE WHEN LAG(observed_at) OVER (PARTITION BY item_id ORDER BY observed_at) IS NULL
                  OR (name IS DISTINCT FROM LAG(name) OVER (PARTITION BY item_id ORDER BY observed_at))
                  OR (brand IS DISTINCT FROM LAG(brand) OVER (PARTITION BY item_id ORDER BY observed_at))
                  OR (category_path IS DISTINCT FROM LAG(category_path) OVER (PARTITION BY item_id ORDER BY observed_at))
                THEN 1 ELSE 0 END AS starts
    FROM obs
), stretches AS (
    SELECT *, SUM(starts) OVER (PARTITION BY item_id ORDER BY observed_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stretch
    FROM marked
)
SELECT CAST(MIN(observed_at) AS DATE) AS date, item_id,
       MIN(observed_at) AS first_seen, MAX(observed_at) AS last_seen, COUNT(*) AS observations,
       MIN(name) AS name, MIN(brand) AS brand, MIN(category_path) AS category_path, MIN(category) AS category
FROM stretches
GROUP BY item_id, stretch
ORDER BY item_id, first_seen
