-- Kept by day (one file per day of observations, in time order across the files).
-- Every observed price in every configured currency, at the rate in force at its time (the
-- day's `rates`: the latest quote at or before the observation; none: rate and prices are
-- null; older than the configured age: flagged stale).
--
-- No sort of the day's ~5 million rows: `obs` is in (observed_at, item_id) order and `rates`
-- in (observed_at, currency) order, both declared to the engine, and `rates`, the smaller,
-- is the hash join's build side, read as one partition; the join then emits each
-- observation's rows in build order, and the engine finds the ORDER BY already satisfied.
-- (With the sides the other way round, or a build side over the size the session collects
-- whole, the engine sorts instead: the same rows, slower.)
SELECT o.record_id, CAST(o.item_id AS BIGINT) AS item_id, o.observed_at, r.currency, r.rate,
       r.rate_time,
       o.sale_price * r.rate AS sale_price,
       o.msrp * r.rate AS msrp,
       r.stale
FROM obs o JOIN rates r ON r.observed_at = o.observed_at
ORDER BY observed_at, item_id, currency
