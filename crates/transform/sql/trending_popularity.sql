-- The original's first analysis: how often each item appears in the trending lists, per
-- ISO week (period_start is its Monday), top {top_n} per week.
--
-- The name is the item's latest as of the end of the week: the name of its last observation
-- up to that Sunday, which is its `discounts` row of the latest day up to then (a day's row
-- is its last observation), so an item renamed during the week shows its new name, as
-- `discounts` and `items` do, and not the greatest of its names. Found by the latest date
-- and a join back, not a window ordered by date, and with the top items read once: every
-- sort holds memory of its own, and a CTE named twice is computed twice.
-- (Every trending appearance is an observation too, so the item has such a row; were one
-- missing, the name would be the greatest of the week's listed ones.)
WITH t AS (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id ORDER BY trend_time) AS rn FROM trending_appearances
    ) WHERE rn = 1
),
counts AS (
    SELECT CAST(date_trunc('week', trend_time) AS DATE) AS period_start, item_id,
           MAX(name) AS listed_name, COUNT(*) AS appearances
    FROM t GROUP BY 1, 2
),
ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY period_start ORDER BY appearances DESC, item_id) AS rank FROM counts
),
top_items AS (
    SELECT period_start, item_id, listed_name, appearances, CAST(rank AS BIGINT) AS rank
    FROM ranked WHERE rank <= {top_n}
),
last_seen AS (
    SELECT tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank, MAX(d.date) AS last_date
    FROM top_items tp LEFT JOIN discounts d
      ON d.item_id = tp.item_id AND CAST(d.date AS INT) <= CAST(tp.period_start AS INT) + 6
    GROUP BY tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank
)
SELECT l.period_start, l.item_id, COALESCE(d.name, l.listed_name) AS name, l.appearances, l.rank
FROM last_seen l LEFT JOIN discounts d ON d.item_id = l.item_id AND d.date = l.last_date
ORDER BY period_start, rank
