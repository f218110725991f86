-- The deduplicated rates: the first fetched quote of each pair and time (a rate fetched
-- twice, by `live` and by `timeframe`, or replayed, counts once). Read by every day's
-- `rates` and by `fx_daily`; a run computes it once into its work area.
SELECT record_id, base, quote, rate, rate_time, fetched_at, endpoint
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY base, quote, rate_time ORDER BY fetched_at, record_id) AS rn
    FROM fx_rates
)
WHERE rn = 1
