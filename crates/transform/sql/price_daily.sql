-- Per item, day and currency: the first, last, lowest and highest converted sale price.
-- Kept by day: `prices_fx` here is one day's rows, so grouping by item and currency groups
-- by item, day and currency, and the date is cast once per group instead of once per row
-- (casting a UTC timestamp to a date looks its time zone up: ~5 million times a day).
--
-- The first and last prices are those at the earliest and latest times of the group, looked
-- up by a join back to the rows at those two times: an item has one observation per time
-- (deduplicated), so each lookup finds one row. (`first_value(sale_price ORDER BY
-- observed_at)` gives the same numbers, but its ordered accumulators took twice as long as
-- this whole query on a day of 5.3 million rows.)
WITH spans AS (
    SELECT item_id, currency,
           MIN(sale_price) AS min, MAX(sale_price) AS max,
           MIN(observed_at) AS first_at, MAX(observed_at) AS last_at
    FROM prices_fx
    WHERE sale_price IS NOT NULL
    GROUP BY item_id, currency
)
SELECT CAST(s.first_at AS DATE) AS date, s.item_id, s.currency,
       MAX(CASE WHEN p.observed_at = s.first_at THEN p.sale_price END) AS open,
       MAX(CASE WHEN p.observed_at = s.last_at THEN p.sale_price END) AS close,
       s.min, s.max
FROM spans s JOIN prices_fx p
  ON p.item_id = s.item_id AND p.currency = s.currency
 AND (p.observed_at = s.first_at OR p.observed_at = s.last_at)
GROUP BY s.first_at, s.item_id, s.currency, s.min, s.max
ORDER BY date, item_id, currency
