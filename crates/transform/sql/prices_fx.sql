-- Kept by day (one file per day of observations, in time order across the files).
-- Every observed price in every configured currency, at the rate in force at its time:
-- the latest quote at or before the observation. No earlier quote: rate and prices are null.
-- A quote older than {stale_seconds} seconds at the observation is flagged stale.
--
-- An as-of join as an equi-join: each quote is in force from its time to the next quote of
-- its currency (`spans`), and is listed once for every hour of the observations that span
-- overlaps (a handful of quotes and hours: the day's, or the new hour's). Each observation
-- then finds its quote by currency and hour, and the one span there that holds its time.
-- No sort of observations and quotes together, and the cost does not grow with the
-- number of quotes. The small side is the join's left (its build side): with the
-- observations there, every hour's thousands of rows share one hash key.
WITH observed AS (
    SELECT record_id, item_id, observed_at, sale_price, msrp,
           date_trunc('hour', observed_at) AS hour
    FROM obs
),
hours AS (
    SELECT DISTINCT hour FROM observed
),
quotes AS (
    SELECT quote AS currency, rate, rate_time,
           LEAD(rate_time) OVER (PARTITION BY quote ORDER BY rate_time) AS next_time
    FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{base}'
),
spans AS (
    SELECT q.currency, q.rate, q.rate_time, q.next_time, h.hour
    FROM quotes q JOIN hours h
      ON q.rate_time < h.hour + INTERVAL '1 hour'
     AND (q.next_time IS NULL OR q.next_time > h.hour)
),
pairs AS (
    SELECT o.*, c.currency FROM observed o CROSS JOIN currencies c
),
chosen AS (
    SELECT p.record_id, p.item_id, p.observed_at, p.currency, p.sale_price, p.msrp,
           CASE WHEN p.currency = '{base}' THEN 1.0 ELSE s.rate END AS rate,
           CASE WHEN p.currency = '{base}' THEN p.observed_at ELSE s.rate_time END AS rate_time
    FROM spans s RIGHT JOIN pairs p
      ON s.currency = p.currency AND s.hour = p.hour
     AND s.rate_time <= p.observed_at AND (s.next_time IS NULL OR p.observed_at < s.next_time)
)
SELECT record_id, CAST(item_id AS BIGINT) AS item_id, observed_at, currency, rate, rate_time,
       sale_price * rate AS sale_price,
       msrp * rate AS msrp,
       COALESCE(to_unixtime(observed_at) - to_unixtime(rate_time) > {stale_seconds}, false) AS stale
FROM chosen
ORDER BY observed_at, item_id, currency
