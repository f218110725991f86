-- price_lows over every day but the lake's latest (`as_of`, the latest day of `price_daily`),
-- with the 30- and 90-day windows counted back from that latest day: per item and currency,
-- the close of the item's latest day before it, the lowest price ever, over 30 and over 90
-- days, each with the latest day seen at that low. `price_lows.sql` merges the latest day
-- into it. A run that only extends the latest day carries this file over instead of reading
-- every day again; a run that changes an earlier day or makes a new latest day rebuilds it.
--
-- Two hash aggregations and a join, no sort: one finds each low and the item's latest day,
-- the second, joined back to the days, the latest day at each low and that day's close.
WITH latest AS (
    SELECT MAX(date) AS as_of FROM price_daily
),
days AS (
    SELECT p.item_id, p.currency, p.date, p.min, p.close,
           CAST(latest.as_of AS INT) - CAST(p.date AS INT) AS age_days, latest.as_of
    FROM price_daily p CROSS JOIN latest
    WHERE p.date < latest.as_of
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
