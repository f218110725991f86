-- Per item and currency: the current price (the close of the item's latest day), and its
-- lowest price over its whole history, over the last 30 and over the last 90 days up to the
-- lake's latest day (`as_of`), each with the latest day it was seen at that low. A low over
-- a window the item was not seen in is null.
--
-- The days before the latest are summed up in `price_lows_settled` (kept across the hours
-- of one day); the latest day's rows of `price_daily` are merged into it here. The latest
-- day is in both windows and later than any settled day, so it wins a tie at a low.
-- The latest day's placeholder is filled in by the run with a date literal, so only that
-- day's file of `price_daily` is read.
WITH today AS (
    SELECT p.item_id, p.currency, p.date, p.min, p.close
    FROM price_daily p WHERE p.date = {latest_day}
),
both_sides AS (
    SELECT COALESCE(t.item_id, s.item_id) AS item_id,
           COALESCE(t.currency, s.currency) AS currency,
           t.date, t.min, t.close,
           s.price, s.price_on, s.low_ever, s.low_ever_on,
           s.low_30d, s.low_30d_on, s.low_90d, s.low_90d_on
    FROM today t FULL OUTER JOIN price_lows_settled s
      ON t.item_id = s.item_id AND t.currency = s.currency
)
SELECT b.item_id, b.currency, CAST({latest_day} AS DATE) AS as_of,
       COALESCE(b.close, b.price) AS price,
       COALESCE(b.date, b.price_on) AS price_on,
       CASE WHEN b.min <= b.low_ever OR b.low_ever IS NULL THEN b.min ELSE b.low_ever END AS low_ever,
       CASE WHEN b.min <= b.low_ever OR b.low_ever IS NULL THEN b.date ELSE b.low_ever_on END AS low_ever_on,
       CASE WHEN b.min <= b.low_30d OR b.low_30d IS NULL THEN COALESCE(b.min, b.low_30d) ELSE b.low_30d END AS low_30d,
       CASE WHEN b.min <= b.low_30d OR b.low_30d IS NULL THEN COALESCE(b.date, b.low_30d_on) ELSE b.low_30d_on END AS low_30d_on,
       CASE WHEN b.min <= b.low_90d OR b.low_90d IS NULL THEN COALESCE(b.min, b.low_90d) ELSE b.low_90d END AS low_90d,
       CASE WHEN b.min <= b.low_90d OR b.low_90d IS NULL THEN COALESCE(b.date, b.low_90d_on) ELSE b.low_90d_on END AS low_90d_on
FROM both_sides b
ORDER BY b.item_id, b.currency
