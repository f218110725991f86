-- Per item, day and currency: the first, last, lowest and highest converted sale price.
--
-- The first and last prices are those at the earliest and latest times of the group, looked
-- up by a join back to the rows at those two times: an item has one observation per time
-- (deduplicated), so each lookup finds one row. (`first_value(sale_price ORDER BY
-- observed_at)` gives the same numbers, but its ordered accumulators took twice as long as
-- this whole query on a day of 5.3 million rows.)
WITH spans AS (
    SELECT CAST(observed_at AS DATE) AS date, item_id, currency,
           MIN(sale_price) AS min, MAX(sale_price) AS max,
           MIN(observed_at) AS first_at, MAX(observed_at) AS last_at
    FROM prices_fx
    WHERE sale_price IS NOT NULL
    GROUP BY 1, 2, 3
)
SELECT s.date, s.item_id, s.currency,
       MAX(CASE WHEN p.observed_at = s.first_at THEN p.sale_price END) AS open,
       MAX(CASE WHEN p.observed_at = s.last_at THEN p.sale_price END) AS close,
       s.min, s.max
FROM spans s JOIN prices_fx p
  ON p.item_id = s.item_id AND p.currency = s.currency
 AND (p.observed_at = s.first_at OR p.observed_at = s.last_at)
GROUP BY s.date, s.item_id, s.currency, s.min, s.max
ORDER BY date, item_id, currency
