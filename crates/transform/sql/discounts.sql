-- The original's discount analysis: (msrp - salePrice) / msrp * 100 for each item's last
-- observation of each day. Items without msrp are kept, flagged, with a null discount. The
-- stock and rollback/clearance flags of that observation come along: `category_daily` is
-- computed from these rows.
WITH ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY item_id, CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
    FROM obs WHERE sale_price IS NOT NULL
)
SELECT CAST(observed_at AS DATE) AS date, item_id, name, category, msrp, sale_price,
       CASE WHEN msrp > 0 THEN (msrp - sale_price) / msrp * 100.0 END AS discount_pct,
       msrp IS NOT NULL AS has_msrp,
       stock, rollback, clearance
FROM ranked WHERE rn = 1
ORDER BY date, item_id
