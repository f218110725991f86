-- The `items` clean table: every item's versions of its attributes (name, brand, category
-- path), one row per version. A version begins at the first observation whose attributes
-- differ from the observation before it; `valid_to` is when the next version began (null
-- for the current one, `is_current`), and `changed` names what differed from the version
-- before (null for the first). Built from `item_days`, the day-by-day stretches.
--
-- The windows run over all items in one order (item, time), each row comparing itself
-- with the one before; not one window partition per item, whose cost in DataFusion grows
-- with the number of partitions (here tens of thousands of items of a few rows each).
WITH ordered AS (
    SELECT item_id, first_seen, last_seen, observations, name, brand, category_path, category,
           LAG(item_id) OVER (ORDER BY item_id, first_seen) AS previous_item,
           LAG(name) OVER (ORDER BY item_id, first_seen) AS previous_name,
           LAG(brand) OVER (ORDER BY item_id, first_seen) AS previous_brand,
           LAG(category_path) OVER (ORDER BY item_id, first_seen) AS previous_path
    FROM item_days
), marked AS (
    SELECT *,
           CASE WHEN (previous_item IS DISTINCT FROM item_id) THEN 1 ELSE 0 END AS first_of_item,
           CASE WHEN (previous_item IS DISTINCT FROM item_id)
                  OR (name IS DISTINCT FROM previous_name)
                  OR (brand IS DISTINCT FROM previous_brand)
                  OR (category_path IS DISTINCT FROM previous_path)
                THEN 1 ELSE 0 END AS starts
    FROM ordered
), counted AS (
    SELECT *, SUM(starts) OVER (ORDER BY item_id, first_seen ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stretch
    FROM marked
), numbered AS (
    SELECT *, stretch + 1 - MAX(CASE WHEN first_of_item = 1 THEN stretch END)
                  OVER (ORDER BY item_id, first_seen ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS version
    FROM counted
), versions AS (
    SELECT item_id, version, MIN(name) AS name, MIN(brand) AS brand,
           MIN(category_path) AS category_path, MIN(category) AS category,
           MIN(first_seen) AS valid_from, MAX(last_seen) AS last_seen,
           SUM(observations) AS observations
    FROM numbered
    GROUP BY item_id, version
), linked AS (
    SELECT *,
           LAG(name) OVER (ORDER BY item_id, version) AS previous_name,
           LAG(brand) OVER (ORDER BY item_id, version) AS previous_brand,
           LAG(category_path) OVER (ORDER BY item_id, version) AS previous_path,
           LEAD(item_id) OVER (ORDER BY item_id, version) AS next_item,
           LEAD(valid_from) OVER (ORDER BY item_id, version) AS next_from
    FROM versions
), bounded AS (
    SELECT *, CASE WHEN next_item = item_id THEN next_from END AS valid_to FROM linked
)
SELECT CAST(valid_from AS DATE) AS date, item_id, version, name, brand, category_path, category,
       valid_from, valid_to, valid_to IS NULL AS is_current, last_seen, observations,
       CASE WHEN version > 1 THEN concat_ws(',',
           CASE WHEN (name IS DISTINCT FROM previous_name) THEN 'name' END,
           CASE WHEN (brand IS DISTINCT FROM previous_brand) THEN 'brand' END,
           CASE WHEN (category_path IS DISTINCT FROM previous_path) THEN 'category_path' END)
       END AS changed
FROM bounded
ORDER BY date, item_id, version
