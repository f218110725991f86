-- A day extended by later observations: `previous` is the day's rows as the last run left
-- them, `delta` the rows of the new observations alone. Every new observation is later than
-- every earlier one, so an item's new last observation replaces its old one.
SELECT * FROM delta
UNION ALL
SELECT * FROM previous WHERE item_id NOT IN (SELECT item_id FROM delta)
ORDER BY date, item_id
