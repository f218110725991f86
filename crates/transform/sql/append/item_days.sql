-- A day extended by later observations (see append/discounts.sql): an item's first new
-- stretch continues its last old one when the attributes are the same. (`delta` holds one
-- row per new observation, a stretch of its own; consecutive rows alike are merged here.)
-- The windows run over all items in one order, each row comparing itself with the one
-- before, not one window partition per item (see items.sql).
WITH both_sides AS (
    SELECT * FROM previous
    UNION ALL
    SELECT * FROM delta
), ordered AS (
    SELECT *,
           LAG(item_id) OVER (ORDER BY item_id, first_seen) AS previous_item,
           LAG(name) OVER (ORDER BY item_id, first_seen) AS previous_name,
           LAG(brand) OVER (ORDER BY item_id, first_seen) AS previous_brand,
           LAG(category_path) OVER (ORDER BY item_id, first_seen) AS previous_path
    FROM both_sides
), stretches AS (
    SELECT *, SUM(CASE WHEN (previous_item IS DISTINCT FROM item_id)
                          OR (name IS DISTINCT FROM previous_name)
                          OR (brand IS DISTINCT FROM previous_brand)
                          OR (category_path IS DISTINCT FROM previous_path)
                       THEN 1 ELSE 0 END)
              OVER (ORDER BY item_id, first_seen ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stretch
    FROM ordered
)
SELECT MIN(date) AS date, item_id,
       MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen, SUM(observations) AS observations,
       MIN(name) AS name, MIN(brand) AS brand, MIN(category_path) AS category_path, MIN(category) AS category
FROM stretches
GROUP BY item_id, stretch
ORDER BY item_id, first_seen
