-- Every observed price in every configured currency, at the rate in force at its time:
-- the latest quote at or before the observation. No earlier quote: rate and prices are null.
-- A quote older than {stale_seconds} seconds at the observation is flagged stale.
WITH pairs AS (
    SELECT o.record_id, o.item_id, o.observed_at, o.sale_price, o.msrp, c.currency
    FROM obs o CROSS JOIN currencies c
),
candidates AS (
    SELECT p.*, f.rate, f.rate_time,
           ROW_NUMBER() OVER (PARTITION BY p.record_id, p.currency ORDER BY f.rate_time DESC) AS rn
    FROM pairs p
    LEFT JOIN fx f ON f.quote = p.currency AND f.rate_time <= p.observed_at
),
chosen AS (
    SELECT record_id, item_id, observed_at, currency, sale_price, msrp,
           CASE WHEN currency = '{base}' THEN 1.0 ELSE rate END AS rate,
           CASE WHEN currency = '{base}' THEN observed_at ELSE rate_time END AS rate_time
    FROM candidates WHERE rn = 1
)
SELECT record_id, item_id, observed_at, currency, rate, rate_time,
       sale_price * rate AS sale_price,
       msrp * rate AS msrp,
       COALESCE(to_unixtime(observed_at) - to_unixtime(rate_time) > {stale_seconds}, false) AS stale
FROM chosen
ORDER BY item_id, observed_at, currency
