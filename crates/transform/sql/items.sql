-- The `items` clean table: every item's versions of its attributes (name, brand, category
-- path), one row per version. A version begins at the first observation whose attributes
-- differ from the observation before it; `valid_to` is when the next version began (null
-- for the current one, `is_current`), and `changed` names what differed from the version
-- before (null for the first). Built from `item_days`, the day-by-day stretches.
WITH marked AS (
    SELECT item_id, first_seen, last_seen, observations, name, brand, category_path, category,
           CASE WHEN LAG(first_seen) OVER (PARTITION BY item_id ORDER BY first_seen) IS NULL
                  OR (name IS DISTINCT FROM LAG(name) OVER (PARTITION BY item_id ORDER BY first_seen))
                  OR (brand IS DISTINCT FROM LAG(brand) OVER (PARTITION BY item_id ORDER BY first_seen))
                  OR (category_path IS DISTINCT FROM LAG(category_path) OVER (PARTITION BY item_id ORDER BY first_seen))
                THEN 1 ELSE 0 END AS starts
    FROM item_days
), numbered AS (
    SELECT *, SUM(starts) OVER (PARTITION BY item_id ORDER BY first_seen ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS version
    FROM marked
), versions AS (
    SELECT item_id, version, MIN(name) AS name, MIN(brand) AS brand,
           MIN(category_path) AS category_path, MIN(category) AS category,
           MIN(first_seen) AS valid_from, MAX(last_seen) AS last_seen,
           SUM(observations) AS observations
    FROM numbered
    GROUP BY item_id, version
), linked AS (
    SELECT *,
           LAG(name) OVER (PARTITION BY item_id ORDER BY version) AS previous_name,
           LAG(brand) OVER (PARTITION BY item_id ORDER BY version) AS previous_brand,
           LAG(category_path) OVER (PARTITION BY item_id ORDER BY version) AS previous_path,
           LEAD(valid_from) OVER (PARTITION BY item_id ORDER BY version) AS valid_to
    FROM versions
)
SELECT CAST(valid_from AS DATE) AS date, item_id, version, name, brand, category_path, category,
       valid_from, valid_to, valid_to IS NULL AS is_current, last_seen, observations,
       CASE WHEN version > 1 THEN concat_ws(',',
           CASE WHEN (name IS DISTINCT FROM previous_name) THEN 'name' END,
           CASE WHEN (brand IS DISTINCT FROM previous_brand) THEN 'brand' END,
           CASE WHEN (category_path IS DISTINCT FROM previous_path) THEN 'category_path' END)
       END AS changed
FROM linked
ORDER BY date, item_id, version
