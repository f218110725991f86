-- The original's first analysis: how often each item appears in the trending lists, per
-- ISO week (period_start is its Monday), top {top_n} per week.
WITH t AS (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id ORDER BY trend_time) AS rn FROM trending_appearances
    ) WHERE rn = 1
),
counts AS (
    SELECT CAST(date_trunc('week', trend_time) AS DATE) AS period_start, item_id, MAX(name) AS name,
           COUNT(*) AS appearances
    FROM t GROUP BY 1, 2
),
ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY period_start ORDER BY appearances DESC, item_id) AS rank FROM counts
)
SELECT period_start, item_id, name, appearances, CAST(rank AS BIGINT) AS rank FROM ranked
WHERE rank <= {top_n}
ORDER BY period_start, rank
