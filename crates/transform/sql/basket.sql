-- The cost of the basket ({basket_ids}) in each currency per day: what a shopper abroad
-- pays for the same items. `items` says how many of the basket had a price that day.
SELECT date, currency, COUNT(*) AS items, SUM(close) AS cost
FROM price_daily
WHERE item_id IN ({basket_ids})
GROUP BY date, currency
ORDER BY currency, date
