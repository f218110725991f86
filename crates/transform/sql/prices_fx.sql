-- Kept by day (one file per day of observations, in time order across the files).
-- Every observed price in every configured currency, at the rate in force at its time:
-- the latest quote at or before the observation. No earlier quote: rate and prices are null.
-- A quote older than {stale_seconds} seconds at the observation is flagged stale.
--
-- An as-of join without a range join: observations and quotes are merged into one stream
-- per currency sorted by time (a quote before an observation at the same instant); a
-- running count of quotes numbers the groups, and each observation takes the quote that
-- opened its group. Linear after the sort, whatever the number of quotes.
WITH pairs AS (
    SELECT o.record_id, o.item_id, o.observed_at, o.sale_price, o.msrp, c.currency
    FROM obs o CROSS JOIN currencies c
),
events AS (
    SELECT currency, observed_at AS t, 1 AS kind, record_id, item_id, sale_price, msrp,
           CAST(NULL AS DOUBLE) AS rate
    FROM pairs
    UNION ALL
    SELECT quote AS currency, rate_time AS t, 0 AS kind, NULL AS record_id, NULL AS item_id,
           NULL AS sale_price, NULL AS msrp, rate
    FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{base}'
),
grouped AS (
    SELECT *, SUM(1 - kind) OVER (PARTITION BY currency ORDER BY t, kind
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS grp
    FROM events
),
filled AS (
    SELECT *,
           FIRST_VALUE(rate) OVER (PARTITION BY currency, grp ORDER BY t, kind
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS group_rate,
           FIRST_VALUE(t) OVER (PARTITION BY currency, grp ORDER BY t, kind
                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS group_time
    FROM grouped
),
chosen AS (
    SELECT record_id, item_id, t AS observed_at, currency, sale_price, msrp,
           CASE WHEN currency = '{base}' THEN 1.0 WHEN grp = 0 THEN NULL ELSE group_rate END AS rate,
           CASE WHEN currency = '{base}' THEN t WHEN grp = 0 THEN NULL ELSE group_time END AS rate_time
    FROM filled
    WHERE kind = 1
)
SELECT record_id, CAST(item_id AS BIGINT) AS item_id, observed_at, currency, rate, rate_time,
       sale_price * rate AS sale_price,
       msrp * rate AS msrp,
       COALESCE(to_unixtime(observed_at) - to_unixtime(rate_time) > {stale_seconds}, false) AS stale
FROM chosen
ORDER BY observed_at, item_id, currency
