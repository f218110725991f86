-- A day extended by later observations (see append/discounts.sql): a value of the day among
-- the new observations is the day's last one and replaces the old.
SELECT * FROM delta
UNION ALL
SELECT * FROM previous WHERE (SELECT COUNT(*) FROM delta) = 0
ORDER BY date, currency
