-- Kept by day (one file per day of observations, in time order across the files).
-- Every observed price in every configured currency, at the rate in force at its time:
-- the latest quote at or before the observation. No earlier quote: rate and prices are null.
-- A quote older than {stale_seconds} seconds at the observation is flagged stale.
--
-- An as-of join without a range join: observations and quotes are merged into one stream
-- per currency sorted by time (a quote before an observation at the same instant); a
-- running count of quotes gives each observation the number of the latest quote at or
-- before it, and the quotes, numbered in time order per currency, are joined on it. One
-- sort of the stream, linear after it, whatever the number of quotes. (Not LAST_VALUE ...
-- IGNORE NULLS: Ballista 55 loses IGNORE NULLS when it sends the plan to executors.)
WITH pairs AS (
    SELECT o.record_id, o.item_id, o.observed_at, o.sale_price, o.msrp, c.currency
    FROM obs o CROSS JOIN currencies c
),
quotes AS (
    SELECT quote, rate, rate_time,
           CAST(ROW_NUMBER() OVER (PARTITION BY quote ORDER BY rate_time) AS BIGINT) AS n
    FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{base}'
),
events AS (
    SELECT currency, observed_at AS t, 1 AS kind, record_id, item_id, sale_price, msrp
    FROM pairs
    UNION ALL
    SELECT quote AS currency, rate_time AS t, 0 AS kind, NULL AS record_id, NULL AS item_id,
           NULL AS sale_price, NULL AS msrp
    FROM quotes
),
grouped AS (
    SELECT *, SUM(1 - kind) OVER (PARTITION BY currency ORDER BY t, kind
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS grp
    FROM events
),
chosen AS (
    SELECT g.record_id, g.item_id, g.t AS observed_at, g.currency, g.sale_price, g.msrp,
           CASE WHEN g.currency = '{base}' THEN 1.0 ELSE q.rate END AS rate,
           CASE WHEN g.currency = '{base}' THEN g.t ELSE q.rate_time END AS rate_time
    FROM grouped g LEFT JOIN quotes q ON q.quote = g.currency AND q.n = g.grp
    WHERE g.kind = 1
)
SELECT record_id, CAST(item_id AS BIGINT) AS item_id, observed_at, currency, rate, rate_time,
       sale_price * rate AS sale_price,
       msrp * rate AS msrp,
       COALESCE(to_unixtime(observed_at) - to_unixtime(rate_time) > {stale_seconds}, false) AS stale
FROM chosen
ORDER BY observed_at, item_id, currency
