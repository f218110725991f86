"""The `price_lows` mart (crates/transform/sql/price_lows_settled.sql and price_lows.sql) for the
DuckDB and PySpark ports, in one query over every day: pricelake keeps the days before the latest
apart (`price_lows_settled`) so that an hour reads only the latest day; over every day at once the
rows are the same. `{age_days}` is the engine's whole days from a row's date to `as_of`."""


def price_lows_sql(age_days):
    """The query, with the engine's expression for the days between `p.date` and `latest.as_of`."""
    return PRICE_LOWS_SQL.replace("{age_days}", age_days)


PRICE_LOWS_SQL = """
WITH latest AS (SELECT MAX(date) AS as_of FROM price_daily),
days AS (
    SELECT p.item_id, p.currency, p.date, p.min, p.close, {age_days} AS age_days, latest.as_of
    FROM price_daily p CROSS JOIN latest
),
lows AS (
    SELECT item_id, currency, MAX(as_of) AS as_of, MAX(date) AS price_on,
           MIN(min) AS low_ever,
           MIN(CASE WHEN age_days < 30 THEN min END) AS low_30d,
           MIN(CASE WHEN age_days < 90 THEN min END) AS low_90d
    FROM days GROUP BY item_id, currency
)
SELECT l.item_id, l.currency, l.as_of,
       MAX(CASE WHEN d.date = l.price_on THEN d.close END) AS price,
       l.price_on,
       l.low_ever,
       MAX(CASE WHEN d.min = l.low_ever THEN d.date END) AS low_ever_on,
       l.low_30d,
       MAX(CASE WHEN d.age_days < 30 AND d.min = l.low_30d THEN d.date END) AS low_30d_on,
       l.low_90d,
       MAX(CASE WHEN d.age_days < 90 AND d.min = l.low_90d THEN d.date END) AS low_90d_on
FROM lows l JOIN days d ON d.item_id = l.item_id AND d.currency = l.currency
GROUP BY l.item_id, l.currency, l.as_of, l.price_on, l.low_ever, l.low_30d, l.low_90d
ORDER BY item_id, currency"""
