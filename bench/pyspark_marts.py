#!/usr/bin/env python3
"""pricelake's process run, written for PySpark (master local[2]): the same raw gzip NDJSON
objects in, the same clean tables (parse stage), deduplicated views and marts
(crates/transform/sql/*.sql) out, as Parquet directories under OUT_DIR. Prints rows per table
and mart (compare with the run manifest under LAKE/_manifests/process/) and the wall time.

Usage: pyspark_marts.py LAKE_DIR OUT_DIR [--master local[2]] [--driver-memory 2g]

Ported with pricelake's default [transform] config (see duckdb_marts.py). The SQL is Spark SQL
as close to the DataFusion files as Spark allows: prices_fx keeps the as-of lookup of prices_fx.sql
(once per distinct observation time, a merged stream: Spark has no ASOF JOIN); first_value/last_value aggregates are min_by/max_by (the ordering keys
are unique after deduplication); `CAST(date AS INT)` day arithmetic is date_sub; to_unixtime is
unix_timestamp. Malformed lines are dropped by the JSON reader (DROPMALFORMED).
"""
import argparse
import glob
import os
import shutil
import sys
import time

from items_sql import ITEMS_SQL
from lows_sql import price_lows_sql

BASE = "USD"
CURRENCIES = ["AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD"]
TOP_N = 20
STALE_SECONDS = 48 * 3600
ITEM_ENDPOINTS = ["trends", "vod", "paginated_items", "search", "items"]

ITEM_SCHEMA = ("kind STRING, record_id STRING, source STRING, endpoint STRING, fetched_at STRING, "
               "position BIGINT, context STRUCT<time: BIGINT>, payload STRUCT<itemId: BIGINT, name: STRING, "
               "brandName: STRING, categoryPath: STRING, salePrice: DOUBLE, msrp: DOUBLE, stock: STRING, "
               "rollBack: BOOLEAN, clearance: BOOLEAN>")
RATES_SCHEMA = ("kind STRING, record_id STRING, source STRING, endpoint STRING, fetched_at STRING, "
                "payload STRUCT<timestamp: BIGINT, source: STRING, date: STRING, quotes: MAP<STRING, DOUBLE>>")
TIMEFRAME_SCHEMA = ("kind STRING, record_id STRING, source STRING, endpoint STRING, fetched_at STRING, "
                    "payload STRUCT<source: STRING, quotes: MAP<STRING, MAP<STRING, DOUBLE>>>")

MARTS = {
    # prices_fx.sql, as written: the as-of lookup once per distinct observation time and
    # currency (a merged stream of those times and the quotes per currency, a running count
    # of quotes giving each time the number of its quote, the quotes numbered per currency
    # and joined on it), then each observation joined to its time's rates.
    "prices_fx": f"""
WITH times AS (
    SELECT DISTINCT observed_at FROM obs
),
quotes AS (
    SELECT quote, rate, rate_time,
           CAST(ROW_NUMBER() OVER (PARTITION BY quote ORDER BY rate_time) AS BIGINT) AS n
    FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{BASE}'
),
events AS (
    SELECT c.currency, t.observed_at AS t, 1 AS kind
    FROM times t CROSS JOIN currencies c
    UNION ALL
    SELECT quote AS currency, rate_time AS t, 0 AS kind
    FROM quotes
),
grouped AS (
    SELECT *, SUM(1 - kind) OVER (PARTITION BY currency ORDER BY t, kind
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS grp
    FROM events
),
chosen AS (
    SELECT g.t AS observed_at, g.currency,
           CASE WHEN g.currency = '{BASE}' THEN 1.0D ELSE q.rate END AS rate,
           CASE WHEN g.currency = '{BASE}' THEN g.t ELSE q.rate_time END AS rate_time
    FROM grouped g LEFT JOIN quotes q ON q.quote = g.currency AND q.n = g.grp
    WHERE g.kind = 1
),
rates AS (
    SELECT observed_at, currency, rate, rate_time,
           COALESCE(rate_time < observed_at - make_interval(0, 0, 0, 0, 0, 0, {STALE_SECONDS}), false) AS stale
    FROM chosen
)
SELECT o.record_id, CAST(o.item_id AS BIGINT) AS item_id, o.observed_at, r.currency, r.rate,
       r.rate_time,
       o.sale_price * r.rate AS sale_price,
       o.msrp * r.rate AS msrp,
       r.stale
FROM obs o JOIN rates r ON r.observed_at = o.observed_at
ORDER BY item_id, observed_at, currency""",
    "discounts": """
WITH ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY item_id, CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
    FROM obs WHERE sale_price IS NOT NULL
)
SELECT CAST(observed_at AS DATE) AS date, item_id, name, category, msrp, sale_price,
       CASE WHEN msrp > 0 THEN (msrp - sale_price) / msrp * 100.0D END AS discount_pct,
       msrp IS NOT NULL AS has_msrp,
       stock, rollback, clearance
FROM ranked WHERE rn = 1
ORDER BY date, item_id""",
    "vod_fx": """
WITH vod AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
    FROM obs WHERE endpoint = 'vod' AND sale_price IS NOT NULL
)
SELECT CAST(v.observed_at AS DATE) AS date, v.item_id, v.name, v.sale_price AS sale_price_usd,
       p.currency, p.rate, p.sale_price AS price, p.rate_time
FROM vod v JOIN prices_fx p ON p.record_id = v.record_id
WHERE v.rn = 1
ORDER BY date, currency""",
    "trending_popularity": f"""
WITH t AS (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id ORDER BY trend_time) AS rn FROM trending_appearances
    ) WHERE rn = 1
),
counts AS (
    SELECT CAST(date_trunc('week', trend_time) AS DATE) AS period_start, item_id,
           MAX(name) AS listed_name, COUNT(*) AS appearances
    FROM t GROUP BY 1, 2
),
ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY period_start ORDER BY appearances DESC, item_id) AS rank FROM counts
),
top_items AS (
    SELECT period_start, item_id, listed_name, appearances, CAST(rank AS BIGINT) AS rank
    FROM ranked WHERE rank <= {TOP_N}
),
last_seen AS (
    SELECT tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank, MAX(d.date) AS last_date
    FROM top_items tp LEFT JOIN discounts d ON d.item_id = tp.item_id AND d.date <= date_add(tp.period_start, 6)
    GROUP BY tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank
)
SELECT l.period_start, l.item_id, COALESCE(d.name, l.listed_name) AS name, l.appearances, l.rank
FROM last_seen l LEFT JOIN discounts d ON d.item_id = l.item_id AND d.date = l.last_date
ORDER BY period_start, rank""",
    "price_daily": """
SELECT CAST(observed_at AS DATE) AS date, item_id, currency,
       min_by(sale_price, observed_at) AS open,
       max_by(sale_price, observed_at) AS close,
       MIN(sale_price) AS min,
       MAX(sale_price) AS max
FROM prices_fx
WHERE sale_price IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY item_id, currency, date""",
    "fx_daily": """
SELECT CAST(rate_time AS DATE) AS date, base, quote,
       min_by(rate, rate_time) AS open,
       MAX(rate) AS high,
       MIN(rate) AS low,
       max_by(rate, rate_time) AS close
FROM fx
GROUP BY 1, 2, 3
ORDER BY quote, date""",
    "category_daily": """
SELECT date, category,
       COUNT(DISTINCT item_id) AS items,
       median(sale_price) AS median_price,
       AVG(sale_price) AS mean_price,
       AVG(CASE WHEN rollback OR clearance OR msrp > sale_price THEN 1.0D ELSE 0.0D END) AS share_discounted,
       AVG(CASE WHEN stock IS NOT NULL AND stock <> 'Not available' THEN 1.0D ELSE 0.0D END) AS share_in_stock
FROM discounts
WHERE category IS NOT NULL
GROUP BY 1, 2
ORDER BY date, category""",
    "price_moves": f"""
WITH d AS (
    SELECT date, item_id, name, sale_price AS close FROM discounts
),
latest AS (SELECT MAX(date) AS as_of FROM d),
windows AS (SELECT col1 AS window_days FROM VALUES (1), (7), (30) AS v(col1)),
to_price AS (
    SELECT d.item_id, d.name, d.close AS to_price, latest.as_of FROM d CROSS JOIN latest WHERE d.date = latest.as_of
),
from_price AS (
    SELECT * FROM (
        SELECT w.window_days, d.item_id, d.close AS from_price,
               ROW_NUMBER() OVER (PARTITION BY w.window_days, d.item_id ORDER BY d.date DESC) AS rn
        FROM d CROSS JOIN windows w CROSS JOIN latest
        WHERE d.date <= date_sub(latest.as_of, w.window_days)
    ) WHERE rn = 1
)
SELECT t.item_id, t.name, CAST(f.window_days AS INT) AS window_days, f.from_price, t.to_price,
       (t.to_price - f.from_price) / f.from_price * 100.0D AS change_pct, t.as_of
FROM to_price t
JOIN from_price f ON f.item_id = t.item_id
WHERE f.from_price > 0
ORDER BY window_days, change_pct, item_id""",
    "price_lows": price_lows_sql("datediff(latest.as_of, p.date)"),
    "basket": """
SELECT date, currency, COUNT(*) AS items, SUM(close) AS cost
FROM price_daily
WHERE item_id IN ({basket_ids})
GROUP BY date, currency
ORDER BY currency, date""",
}


def files(lake, source, endpoints):
    out = []
    for e in endpoints:
        out += glob.glob(os.path.join(lake, "raw", source, e, "**", "*.ndjson*"), recursive=True)
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lake")
    ap.add_argument("out")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="2g")
    a = ap.parse_args()
    started = time.time()
    from pyspark.sql import SparkSession

    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    spark = (SparkSession.builder.master(a.master).appName("pricelake-bench")
             .config("spark.driver.memory", a.driver_memory)
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "8")
             .config("spark.sql.adaptive.enabled", "true")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.parquet.compression.codec", "snappy")
             .config("spark.local.dir", os.path.join(os.path.abspath(a.out), ".tmp"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    rows, timings = {}, {}

    def materialize(name, df, key):
        t = time.time()
        path = os.path.join(a.out, name if key.startswith("mart.") else os.path.join("clean", name))
        df.write.mode("overwrite").parquet(path)
        spark.read.parquet(path).createOrReplaceTempView(name)
        rows[key] = spark.table(name).count()
        timings[name] = time.time() - t

    def read(paths, schema):
        return spark.read.schema(schema).option("mode", "DROPMALFORMED").json(paths)

    # Parse stage: the clean tables (crates/transform/src/parse.rs).
    parse_items = """
SELECT record_id, payload.itemId AS item_id, CAST(fetched_at AS TIMESTAMP) AS observed_at, endpoint,
       COALESCE(payload.name, '') AS name, payload.brandName AS brand, payload.categoryPath AS category_path,
       NULLIF(split_part(payload.categoryPath, '/', 1), '') AS category,
       payload.salePrice AS sale_price, payload.msrp AS msrp, payload.stock AS stock,
       COALESCE(payload.rollBack, false) AS rollback, COALESCE(payload.clearance, false) AS clearance{extra}
FROM {table}
WHERE kind = 'raw' AND source = 'walmart' AND payload.itemId > 0 AND payload.salePrice IS NOT NULL"""
    read(files(a.lake, "walmart", ITEM_ENDPOINTS), ITEM_SCHEMA).createOrReplaceTempView("raw_items")
    materialize("price_observations", spark.sql(parse_items.format(extra="", table="raw_items")),
                "price_observations")
    trends = files(a.lake, "walmart", ["trends"])
    if trends:
        read(trends, ITEM_SCHEMA).createOrReplaceTempView("raw_trends")
        trending_sql = """
SELECT record_id, item_id, name, COALESCE(timestamp_millis(trend_ms), observed_at) AS trend_time,
       CAST(COALESCE(position, 0) AS INT) AS position
FROM ({parsed})""".format(parsed=parse_items.format(extra=", context.time AS trend_ms, position",
                                                     table="raw_trends"))
    else:
        trending_sql = ("SELECT '' AS record_id, 0L AS item_id, '' AS name, TIMESTAMP '1970-01-01' AS trend_time, "
                        "0 AS position WHERE false")
    materialize("trending_appearances", spark.sql(trending_sql), "trending_appearances")

    parts = []
    rates = files(a.lake, "currencylayer", ["live", "historical"])
    if rates:
        read(rates, RATES_SCHEMA).createOrReplaceTempView("raw_rates")
        parts.append("""
SELECT record_id || ':' || substr(key, length(src) + 1) AS record_id, src AS base,
       substr(key, length(src) + 1) AS quote, value AS rate,
       COALESCE(timestamp_seconds(ts), to_timestamp(dt || ' 23:59:59'), fetched) AS rate_time,
       fetched AS fetched_at, endpoint
FROM (SELECT record_id, endpoint, CAST(fetched_at AS TIMESTAMP) AS fetched, payload.timestamp AS ts,
             payload.date AS dt, COALESCE(payload.source, 'USD') AS src, payload.quotes AS quotes
      FROM raw_rates WHERE kind = 'raw' AND source = 'currencylayer')
LATERAL VIEW explode(quotes) q AS key, value""")
    timeframe = files(a.lake, "currencylayer", ["timeframe"])
    if timeframe:
        read(timeframe, TIMEFRAME_SCHEMA).createOrReplaceTempView("raw_timeframe")
        parts.append("""
SELECT record_id || ':' || day || ':' || substr(key, length(src) + 1), src, substr(key, length(src) + 1), value,
       to_timestamp(day || ' 23:59:59'), fetched, endpoint
FROM (SELECT record_id, endpoint, CAST(fetched_at AS TIMESTAMP) AS fetched,
             COALESCE(payload.source, 'USD') AS src, payload.quotes AS quotes
      FROM raw_timeframe WHERE kind = 'raw' AND source = 'currencylayer')
LATERAL VIEW explode(quotes) d AS day, dq
LATERAL VIEW explode(dq) q AS key, value""")
    if not parts:
        parts.append("SELECT '' AS record_id, '' AS base, '' AS quote, 1.0D AS rate, TIMESTAMP '1970-01-01' AS "
                     "rate_time, TIMESTAMP '1970-01-01' AS fetched_at, '' AS endpoint WHERE false")
    materialize("fx_rates", spark.sql("\nUNION ALL\n".join(parts)), "fx_rates")

    # The deduplicated views (crates/transform/src/lib.rs, session()).
    spark.sql("""CREATE TEMP VIEW obs_unique AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id
                 ORDER BY observed_at) AS rn FROM price_observations) WHERE rn = 1""")
    spark.sql("""CREATE TEMP VIEW obs_view AS SELECT record_id, item_id, observed_at, endpoint, name, brand,
                 category_path, category, sale_price, msrp, stock, rollback, clearance FROM (SELECT *, ROW_NUMBER()
                 OVER (PARTITION BY item_id, observed_at ORDER BY record_id) AS rn2 FROM obs_unique) WHERE rn2 = 1""")
    spark.sql("""CREATE TEMP VIEW fx AS SELECT record_id, base, quote, rate, rate_time, fetched_at, endpoint FROM
                 (SELECT *, ROW_NUMBER() OVER (PARTITION BY base, quote, rate_time ORDER BY fetched_at, record_id)
                 AS rn FROM fx_rates) WHERE rn = 1""")
    values = ", ".join(f"('{c}')" for c in [BASE] + [c for c in CURRENCIES if c != BASE])
    spark.sql(f"CREATE TEMP VIEW currencies AS SELECT col1 AS currency FROM VALUES {values} AS v(col1)")
    # Deduplicated once and cached (the fair choice for Spark: every mart reads obs).
    t = time.time()
    obs = spark.table("obs_view").cache()
    obs.createOrReplaceTempView("obs")
    n_obs = obs.count()
    timings["dedup"] = time.time() - t
    rows["duplicates_removed"] = rows["price_observations"] - n_obs

    for name, sql in MARTS.items():
        if "{basket_ids}" in sql:
            ids = [r[0] for r in spark.sql(
                "SELECT item_id FROM discounts GROUP BY item_id ORDER BY COUNT(*) DESC, item_id LIMIT 10").collect()]
            sql = sql.replace("{basket_ids}", ", ".join(map(str, ids)) or "NULL")
        materialize(name, spark.sql(sql), f"mart.{name}")
        if name == "prices_fx":
            rows["mart.prices_fx.missing_rate"] = spark.sql(
                "SELECT COUNT(*) FROM prices_fx WHERE rate IS NULL").collect()[0][0]
    # The items clean table (every version of each item's attributes), as pricelake builds it.
    materialize("items", spark.sql(ITEMS_SQL), "items")
    wall = time.time() - started
    spark.stop()
    shutil.rmtree(os.path.join(a.out, ".tmp"), ignore_errors=True)
    for k in sorted(rows):
        print(f"{k}={rows[k]}")
    print("timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in timings.items()), file=sys.stderr)
    print(f"wall_s={wall:.2f}")


if __name__ == "__main__":
    main()
