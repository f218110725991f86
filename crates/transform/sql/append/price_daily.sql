-- A day extended by later observations (see append/discounts.sql): the day opened at the old
-- open and closes at the new close; lowest and highest over both (LEAST and GREATEST skip
-- nulls: an item or currency on one side only keeps its own).
SELECT COALESCE(p.date, d.date) AS date,
       COALESCE(p.item_id, d.item_id) AS item_id,
       COALESCE(p.currency, d.currency) AS currency,
       COALESCE(p.open, d.open) AS open,
       COALESCE(d.close, p.close) AS close,
       LEAST(p.min, d.min) AS min,
       GREATEST(p.max, d.max) AS max
FROM previous p
FULL OUTER JOIN delta d ON p.date = d.date AND p.item_id = d.item_id AND p.currency = d.currency
ORDER BY date, item_id, currency
