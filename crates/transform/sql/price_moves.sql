-- Each item's price change (USD closes) over the last 1, 7 and 30 days up to the latest day
-- with data: from the last close on or before (as_of - window) to the close on as_of.
-- An item's close of a day in USD is the sale price of its last observation of the day:
-- `discounts` has that row, one per item and day (`price_daily` has one per currency too,
-- eleven times as many rows to read for the same numbers). The item's name is the one it
-- had at the end of as_of, the name of that day's last observation: an item renamed keeps
-- its latest name, as in `discounts` and `items`, not the greatest of its names.
--
-- The day each window starts from is one aggregation over the closes (the latest day on or
-- before as_of minus 1, 7 and 30 days, per item), joined back to the closes for its price:
-- an item has one close per day. (A `ROW_NUMBER()` per window and item over the closes
-- tripled by a cross join with the windows gives the same rows, but sorted three times the
-- closes: the costliest mart of an hour's run.)
WITH d AS (
    SELECT date, item_id, name, sale_price AS close FROM discounts
),
latest AS (SELECT MAX(date) AS as_of FROM d),
to_price AS (
    SELECT d.item_id, d.name, d.close AS to_price, latest.as_of FROM d CROSS JOIN latest WHERE d.date = latest.as_of
),
starts AS (
    SELECT d.item_id,
           MAX(CASE WHEN CAST(d.date AS INT) <= CAST(latest.as_of AS INT) - 1 THEN d.date END) AS from_1,
           MAX(CASE WHEN CAST(d.date AS INT) <= CAST(latest.as_of AS INT) - 7 THEN d.date END) AS from_7,
           MAX(CASE WHEN CAST(d.date AS INT) <= CAST(latest.as_of AS INT) - 30 THEN d.date END) AS from_30
    FROM d CROSS JOIN latest
    WHERE CAST(d.date AS INT) <= CAST(latest.as_of AS INT) - 1
    GROUP BY d.item_id
),
windows AS (SELECT column1 AS window_days FROM (VALUES (1), (7), (30))),
from_day AS (
    SELECT s.item_id, w.window_days,
           CASE w.window_days WHEN 1 THEN s.from_1 WHEN 7 THEN s.from_7 ELSE s.from_30 END AS date
    FROM starts s CROSS JOIN windows w
),
from_price AS (
    SELECT f.window_days, f.item_id, d.close AS from_price
    FROM from_day f JOIN d ON d.item_id = f.item_id AND d.date = f.date
)
SELECT t.item_id, t.name, CAST(f.window_days AS INT) AS window_days, f.from_price, t.to_price,
       (t.to_price - f.from_price) / f.from_price * 100.0 AS change_pct, t.as_of
FROM to_price t
JOIN from_price f ON f.item_id = t.item_id
WHERE f.from_price > 0
ORDER BY window_days, change_pct, item_id
