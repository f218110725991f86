-- Per item and currency: the current price (the close of the item's latest day), and its
-- lowest price over its whole history, over the last 30 and over the last 90 days up to the
-- lake's latest day (`as_of`), each with the day it was last seen at that low. A low over a
-- window the item was not seen in is null.
--
-- From `price_daily` (one row per item, day and currency, with the day's lowest price):
-- one aggregation finds each low and the item's latest day, and a second, joined back to
-- the days, finds the latest day at each low and the latest day's close. Two hash
-- aggregations and a join, no sort: a whole-lake mart rebuilt by every run, an hour's too.
WITH latest AS (
    SELECT MAX(date) AS as_of FROM price_daily
),
days AS (
    SELECT p.item_id, p.currency, p.date, p.min, p.close,
           CAST(latest.as_of AS INT) - CAST(p.date AS INT) AS age_days, latest.as_of
    FROM price_daily p CROSS JOIN latest
),
lows AS (
    SELECT item_id, currency, MAX(as_of) AS as_of, MAX(date) AS price_on,
           MIN(min) AS low_ever,
           MIN(CASE WHEN age_days < 30 THEN min END) AS low_30d,
           MIN(CASE WHEN age_days < 90 THEN min END) AS low_90d
    FROM days
    GROUP BY item_id, currency
)
SELECT l.item_id, l.currency, l.as_of,
       MAX(CASE WHEN d.date = l.price_on THEN d.close END) AS price,
       l.price_on,
       l.low_ever,
       MAX(CASE WHEN d.min = l.low_ever THEN d.date END) AS low_ever_on,
       l.low_30d,
       MAX(CASE WHEN d.age_days < 30 AND d.min = l.low_30d THEN d.date END) AS low_30d_on,
       l.low_90d,
       MAX(CASE WHEN d.age_days < 90 AND d.min = l.low_90d THEN d.date END) AS low_90d_on
FROM lows l JOIN days d ON d.item_id = l.item_id AND d.currency = l.currency
GROUP BY l.item_id, l.currency, l.as_of, l.price_on, l.low_ever, l.low_30d, l.low_90d
ORDER BY item_id, currency
