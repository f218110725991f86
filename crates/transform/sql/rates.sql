-- Not a mart: a day's intermediate table, kept in the run's work area while the day's marts
-- are built, like the deduplicated observations (`obs`). The rate in force at each distinct
-- observation time of the day, in each configured currency: the latest quote at or before
-- the time. No earlier quote: rate and rate_time are null. A quote older than
-- {stale_seconds} seconds at the time, by any amount (times are in microseconds), is flagged
-- stale: the timestamps are compared, not their difference in whole seconds.
--
-- Once per distinct time, not once per observation: a fetch stamps every record of a
-- response with one time, so a day has about twenty times fewer distinct times than
-- observations. `prices_fx` then gives each observation its time's rates by an equi-join.
--
-- The lookup itself, an as-of join without a range join: the times and the quotes are merged
-- into one stream per currency sorted by time (a quote before a time at the same instant); a
-- running count of quotes gives each time the number of the latest quote at or before it,
-- and the quotes, numbered in time order per currency, are joined on it. One sort of the
-- stream, linear after it, whatever the number of quotes. (Not LAST_VALUE ... IGNORE NULLS:
-- Ballista 55 loses IGNORE NULLS when it sends the plan to executors.)
--
-- Written in time and currency order, and declared so to the engine: `prices_fx` relies on
-- it to come out in its own order without sorting.
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
)
SELECT observed_at, currency, rate, rate_time,
       COALESCE(rate_time < observed_at - INTERVAL '{stale_seconds} seconds', false) AS stale
FROM chosen
ORDER BY observed_at, currency
