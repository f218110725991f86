-- `item_days`' rows of an extended day's new observations: each observation a stretch of
-- its own, which `append/item_days.sql` merges with the ones alike before and after it. A
-- projection, where `item_days.sql`'s stretches take windows over every new observation.
SELECT CAST(observed_at AS DATE) AS date, item_id,
       observed_at AS first_seen, observed_at AS last_seen, CAST(1 AS BIGINT) AS observations,
       name, brand, category_path, category
FROM obs
