"""The `items` clean table (crates/transform/sql/item_days.sql and items.sql) for the DuckDB and
PySpark ports, in SQL both accept. pricelake builds the versions from per-day stretches of equal
attributes (so that a run reads a few rows per item and day); over every observation at once, as
here, the versions are the same: a day boundary never starts a version by itself."""

ITEMS_SQL = """
WITH marked AS (
    SELECT item_id, observed_at, name, brand, category_path, category,
           CASE WHEN LAG(observed_at) OVER w IS NULL
                  OR (name IS DISTINCT FROM LAG(name) OVER w)
                  OR (brand IS DISTINCT FROM LAG(brand) OVER w)
                  OR (category_path IS DISTINCT FROM LAG(category_path) OVER w)
                THEN 1 ELSE 0 END AS starts
    FROM obs
    WINDOW w AS (PARTITION BY item_id ORDER BY observed_at)
), numbered AS (
    SELECT *, SUM(starts) OVER (PARTITION BY item_id ORDER BY observed_at
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS version
    FROM marked
), versions AS (
    SELECT item_id, version, MIN(name) AS name, MIN(brand) AS brand,
           MIN(category_path) AS category_path, MIN(category) AS category,
           MIN(observed_at) AS valid_from, MAX(observed_at) AS last_seen, COUNT(*) AS observations
    FROM numbered
    GROUP BY item_id, version
), linked AS (
    SELECT *, LAG(name) OVER v AS previous_name, LAG(brand) OVER v AS previous_brand,
           LAG(category_path) OVER v AS previous_path, LEAD(valid_from) OVER v AS valid_to
    FROM versions
    WINDOW v AS (PARTITION BY item_id ORDER BY version)
)
SELECT CAST(valid_from AS DATE) AS date, item_id, version, name, brand, category_path, category,
       valid_from, valid_to, valid_to IS NULL AS is_current, last_seen, observations,
       CASE WHEN version > 1 THEN concat_ws(',',
           CASE WHEN (name IS DISTINCT FROM previous_name) THEN 'name' END,
           CASE WHEN (brand IS DISTINCT FROM previous_brand) THEN 'brand' END,
           CASE WHEN (category_path IS DISTINCT FROM previous_path) THEN 'category_path' END)
       END AS changed
FROM linked
"""
