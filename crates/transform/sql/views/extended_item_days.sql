-- In place of `item_days` when an hour's run extends the `items` table rather than
-- rebuilding it: the previous run's versions (each one a stretch) followed by the new
-- stretches of the days it extended (`new_item_days`). `items.sql` over these gives the
-- versions it gives over every day's stretches: a version never spans a change of
-- attributes, so merging it back into stretches loses nothing.
SELECT item_id, valid_from AS first_seen, last_seen, observations, name, brand, category_path, category
FROM previous_items
UNION ALL
SELECT item_id, first_seen, last_seen, observations, name, brand, category_path, category
FROM new_item_days
