-- Each item's price change (USD closes) over the last 1, 7 and 30 days up to the latest day
-- with data: from the last close on or before (as_of - window) to the close on as_of.
-- An item's close of a day in USD is the sale price of its last observation of the day:
-- `discounts` has that row, one per item and day (`price_daily` has one per currency too,
-- eleven times as many rows to read for the same numbers). The item's name is the one it
-- had at the end of as_of, the name of that day's last observation: an item renamed keeps
-- its latest name, as in `discounts` and `items`, not the greatest of its names.
WITH d AS (
    SELECT date, item_id, name, sale_price AS close FROM discounts
),
latest AS (SELECT MAX(date) AS as_of FROM d),
windows AS (SELECT column1 AS window_days FROM (VALUES (1), (7), (30))),
to_price AS (
    SELECT d.item_id, d.name, d.close AS to_price, latest.as_of FROM d CROSS JOIN latest WHERE d.date = latest.as_of
),
from_price AS (
    SELECT * FROM (
        SELECT w.window_days, d.item_id, d.close AS from_price,
               ROW_NUMBER() OVER (PARTITION BY w.window_days, d.item_id ORDER BY d.date DESC) AS rn
        FROM d CROSS JOIN windows w CROSS JOIN latest
        WHERE CAST(d.date AS INT) <= CAST(latest.as_of AS INT) - w.window_days
    ) WHERE rn = 1
)
SELECT t.item_id, t.name, CAST(f.window_days AS INT) AS window_days, f.from_price, t.to_price,
       (t.to_price - f.from_price) / f.from_price * 100.0 AS change_pct, t.as_of
FROM to_price t
JOIN from_price f ON f.item_id = t.item_id
WHERE f.from_price > 0
ORDER BY window_days, change_pct, item_id
