-- A day extended by later observations (see append/discounts.sql): an item's first new
-- stretch continues its last old one when the attributes are the same.
WITH both_sides AS (
    SELECT * FROM previous
    UNION ALL
    SELECT * FROM delta
), marked AS (
    SELECT *,
           CASE WHEN LAG(first_seen) OVER (PARTITION BY item_id ORDER BY first_seen) IS NULL
                  OR (name IS DISTINCT FROM LAG(name) OVER (PARTITION BY item_id ORDER BY first_seen))
                  OR (brand IS DISTINCT FROM LAG(brand) OVER (PARTITION BY item_id ORDER BY first_seen))
                  OR (category_path IS DISTINCT FROM LAG(category_path) OVER (PARTITION BY item_id ORDER BY first_seen))
                THEN 1 ELSE 0 END AS starts
    FROM both_sides
), stretches AS (
    SELECT *, SUM(starts) OVER (PARTITION BY item_id ORDER BY first_seen ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stretch
    FROM marked
)
SELECT MIN(date) AS date, item_id,
       MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen, SUM(observations) AS observations,
       MIN(name) AS name, MIN(brand) AS brand, MIN(category_path) AS category_path, MIN(category) AS category
FROM stretches
GROUP BY item_id, stretch
ORDER BY item_id, first_seen
