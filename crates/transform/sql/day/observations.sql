-- A day's deduplicated observations (`obs`), the input of every day mart: the first of each
-- record id, then the first record of each item and time. `{table}` is the clean table (or
-- this run's new parts of it) and `{filter}` the filter on its `date` partition.
--
-- A row is the first of its key when the row before it, in the order of key and time, has
-- another key: one ordered pass over all the rows. (Not ROW_NUMBER() OVER (PARTITION BY
-- record_id ...): nearly every key is a partition of one row, and DataFusion keeps state per
-- partition: 2.5 s a day of 480,000 observations, against 0.66 s this way, by the run log in
-- docs/benchmarks.md, run C.) The second pass goes in time order, so the rows come out in
-- the order transform declares for `obs` (observed_at, item_id): the `ORDER BY` costs no
-- sort, and says so to anyone changing the passes.
SELECT record_id, item_id, observed_at, endpoint, name, brand, category_path, category,
       sale_price, msrp, stock, rollback, clearance
FROM (
    SELECT *, LAG(item_id) OVER (ORDER BY observed_at, item_id, record_id) AS previous_item,
              LAG(observed_at) OVER (ORDER BY observed_at, item_id, record_id) AS previous_time
    FROM (
        SELECT *, LAG(record_id) OVER (ORDER BY record_id, observed_at) AS previous_record
        FROM {table} WHERE {filter}
    ) WHERE (previous_record IS DISTINCT FROM record_id)
) WHERE (previous_item IS DISTINCT FROM item_id) OR (previous_time IS DISTINCT FROM observed_at)
ORDER BY observed_at, item_id
