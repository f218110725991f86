-- Per item, day and currency: the first, last, lowest and highest converted sale price.
SELECT CAST(observed_at AS DATE) AS date, item_id, currency,
       first_value(sale_price ORDER BY observed_at) AS open,
       last_value(sale_price ORDER BY observed_at) AS close,
       MIN(sale_price) AS min,
       MAX(sale_price) AS max
FROM prices_fx
WHERE sale_price IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY date, item_id, currency
