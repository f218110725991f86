-- Kept by day (one file per day of observations, in time order across the files).
-- Every observed price in every configured currency, at the rate in force at its time:
-- the latest quote at or before the observation. No earlier quote: rate and prices are null.
-- A quote older than {stale_seconds} seconds at the observation is flagged stale.
--
-- The as-of lookup runs once per distinct observation time and currency (`rates`), not once
-- per observation: a fetch stamps every record of a response with one time, so a day has
-- about twenty times fewer distinct times than observations. Each observation then takes its
-- time's rates by an equi-join.
--
-- The lookup itself, an as-of join without a range join: the times and the quotes are merged
-- into one stream per currency sorted by time (a quote before a time at the same instant); a
-- running count of quotes gives each time the number of the latest quote at or before it,
-- and the quotes, numbered in time order per currency, are joined on it. One sort of the
-- stream, linear after it, whatever the number of quotes. (Not LAST_VALUE ... IGNORE NULLS:
-- Ballista 55 loses IGNORE NULLS when it sends the plan to executors.)
WITH times AS (
    SELECT DISTINCT observed_at FROM obs
),
quotes AS (
    SELECT quote, rate, rate_time,
           CAST(ROW_NUMBER() OVER (PARTITION BY quote ORDER BY rate_time) AS BIGINT) AS n
    FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{base}'
),
events AS (
    SELECT c.currency, t.observed_at AS t, 1 AS kind
    FROM times t CROSS JOIN currencies c
    UNION ALL
    SELECT quote AS currency, rate_time AS t, 0 AS kind
    FROM quotes
),
grouped AS (
    SELECT *, SUM(1 - kind) OVER (PARTITION BY currency ORDER BY t, kind
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS grp
    FROM events
),
chosen AS (
    SELECT g.t AS observed_at, g.currency,
           CASE WHEN g.currency = '{base}' THEN 1.0 ELSE q.rate END AS rate,
           CASE WHEN g.currency = '{base}' THEN g.t ELSE q.rate_time END AS rate_time
    FROM grouped g LEFT JOIN quotes q ON q.quote = g.currency AND q.n = g.grp
    WHERE g.kind = 1
),
rates AS (
    SELECT observed_at, currency, rate, rate_time,
           COALESCE(to_unixtime(observed_at) - to_unixtime(rate_time) > {stale_seconds}, false) AS stale
    FROM chosen
)
SELECT o.record_id, CAST(o.item_id AS BIGINT) AS item_id, o.observed_at, r.currency, r.rate,
       r.rate_time,
       o.sale_price * r.rate AS sale_price,
       o.msrp * r.rate AS msrp,
       r.stale
FROM obs o JOIN rates r ON r.observed_at = o.observed_at
ORDER BY observed_at, item_id, currency
