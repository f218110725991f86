-- The original's third analysis: the value of the day in every configured currency, at the
-- rate in force when it was fetched. One value of the day per date (the last fetched).
-- (The join's time is implied by the record; it lets the scan of prices_fx, sorted by time,
-- skip every row group but the one holding that time.)
WITH vod AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
    FROM obs WHERE endpoint = 'vod' AND sale_price IS NOT NULL
)
SELECT CAST(v.observed_at AS DATE) AS date, v.item_id, v.name, v.sale_price AS sale_price_usd,
       p.currency, p.rate, p.sale_price AS price, p.rate_time
FROM vod v JOIN prices_fx p ON p.record_id = v.record_id AND p.observed_at = v.observed_at
WHERE v.rn = 1
ORDER BY date, currency
