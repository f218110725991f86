#!/usr/bin/env python3
"""pricelake's process run, written for DuckDB: the same raw gzip NDJSON objects in, the same
clean tables (parse stage), deduplicated views and marts (crates/transform/sql/*.sql) out, as
Parquet under OUT_DIR. Prints rows per table and mart (compare with the run manifest under
LAKE/_manifests/process/) and the wall time.

Usage: duckdb_marts.py LAKE_DIR OUT_DIR [--threads N] [--memory-limit 2GB]

Ported with pricelake's default [transform] config: base USD, currencies AUD EUR GBP INR AED
JPY CHF ZAR CNY CAD, trending_top_n 20, stale_rate_after_hours 48, basket = the 10 items with
a price on the most days. Differences from the DataFusion SQL, all without changing results:
the as-of join of prices_fx is DuckDB's ASOF JOIN (latest quote with rate_time <= observed_at,
which is what the merged-stream windows of prices_fx.sql compute), over the distinct observation
times as there; first_value/last_value
aggregates are arg_min/arg_max (the ordering keys are unique after deduplication);
`CAST(date AS INT)` day arithmetic is date - integer. Malformed lines are skipped by the JSON
reader (ignore_errors) instead of being kept as rejections.
"""
import argparse
import glob
import os
import shutil
import sys
import time

import duckdb

from items_sql import ITEMS_SQL
from lows_sql import price_lows_sql

BASE = "USD"
CURRENCIES = ["AUD", "EUR", "GBP", "INR", "AED", "JPY", "CHF", "ZAR", "CNY", "CAD"]
TOP_N = 20
STALE_SECONDS = 48 * 3600
ITEM_ENDPOINTS = ["trends", "vod", "paginated_items", "search", "items"]

ITEM_COLUMNS = {
    "kind": "VARCHAR", "record_id": "VARCHAR", "source": "VARCHAR", "endpoint": "VARCHAR",
    "fetched_at": "VARCHAR", "position": "BIGINT", "context": "STRUCT(\"time\" BIGINT)",
    "payload": "STRUCT(itemId BIGINT, name VARCHAR, brandName VARCHAR, categoryPath VARCHAR, "
               "salePrice DOUBLE, msrp DOUBLE, stock VARCHAR, rollBack BOOLEAN, clearance BOOLEAN)",
}
RATES_COLUMNS = {
    "kind": "VARCHAR", "record_id": "VARCHAR", "source": "VARCHAR", "endpoint": "VARCHAR",
    "fetched_at": "VARCHAR",
    "payload": "STRUCT(\"timestamp\" BIGINT, source VARCHAR, \"date\" VARCHAR, quotes MAP(VARCHAR, DOUBLE))",
}
TIMEFRAME_COLUMNS = {
    "kind": "VARCHAR", "record_id": "VARCHAR", "source": "VARCHAR", "endpoint": "VARCHAR",
    "fetched_at": "VARCHAR",
    "payload": "STRUCT(source VARCHAR, quotes MAP(VARCHAR, MAP(VARCHAR, DOUBLE)))",
}


def files(lake, source, endpoints):
    out = []
    for e in endpoints:
        out += glob.glob(os.path.join(lake, "raw", source, e, "**", "*.ndjson*"), recursive=True)
    return sorted(out)


def reader(paths, columns):
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    lst = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    return (f"read_json({lst}, format='newline_delimited', columns={cols}, ignore_errors=true, "
            f"maximum_object_size=16777216)")


MARTS = {
    # prices_fx.sql: every observation in every currency at the latest quote at or before it,
    # looked up once per distinct observation time and currency, as prices_fx.sql does.
    "prices_fx": f"""
WITH times AS (
    SELECT DISTINCT observed_at FROM obs
),
pairs AS (
    SELECT t.observed_at, c.currency FROM times t CROSS JOIN currencies c
),
q AS (
    SELECT quote AS currency, rate_time, rate FROM fx
    WHERE quote IN (SELECT currency FROM currencies) AND quote <> '{BASE}'
),
rates AS (
    SELECT p.observed_at, p.currency,
           CASE WHEN p.currency = '{BASE}' THEN 1.0 ELSE q.rate END AS rate,
           CASE WHEN p.currency = '{BASE}' THEN p.observed_at ELSE q.rate_time END AS rate_time
    FROM pairs p ASOF LEFT JOIN q ON p.currency = q.currency AND p.observed_at >= q.rate_time
)
SELECT o.record_id, CAST(o.item_id AS BIGINT) AS item_id, o.observed_at, r.currency, r.rate,
       r.rate_time,
       o.sale_price * r.rate AS sale_price,
       o.msrp * r.rate AS msrp,
       COALESCE(r.rate_time < o.observed_at - INTERVAL '{STALE_SECONDS} seconds', false) AS stale
FROM obs o JOIN rates r ON r.observed_at = o.observed_at
ORDER BY item_id, observed_at, currency""",
    "discounts": """
WITH ranked AS (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY item_id, CAST(observed_at AS DATE) ORDER BY observed_at DESC) AS rn
    FROM obs WHERE sale_price IS NOT NULL
)
SELECT CAST(observed_at AS DATE) AS date, item_id, name, category, msrp, sale_price,
       CASE WHEN msrp > 0 THEN (msrp - sale_price) / msrp * 100.0 END AS discount_pct,
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
-- The item's latest name up to the week's Sunday: its discounts row of the latest such day.
last_seen AS (
    SELECT tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank, MAX(d.date) AS last_date
    FROM top_items tp LEFT JOIN discounts d ON d.item_id = tp.item_id AND d.date <= tp.period_start + 6
    GROUP BY tp.period_start, tp.item_id, tp.listed_name, tp.appearances, tp.rank
)
SELECT l.period_start, l.item_id, COALESCE(d.name, l.listed_name) AS name, l.appearances, l.rank
FROM last_seen l LEFT JOIN discounts d ON d.item_id = l.item_id AND d.date = l.last_date
ORDER BY period_start, rank""",
    "price_daily": """
SELECT CAST(observed_at AS DATE) AS date, item_id, currency,
       arg_min(sale_price, observed_at) AS open,
       arg_max(sale_price, observed_at) AS close,
       MIN(sale_price) AS min,
       MAX(sale_price) AS max
FROM prices_fx
WHERE sale_price IS NOT NULL
GROUP BY 1, 2, 3
ORDER BY item_id, currency, date""",
    "fx_daily": """
SELECT CAST(rate_time AS DATE) AS date, base, quote,
       arg_min(rate, rate_time) AS open,
       MAX(rate) AS high,
       MIN(rate) AS low,
       arg_max(rate, rate_time) AS close
FROM fx
GROUP BY 1, 2, 3
ORDER BY quote, date""",
    "category_daily": """
SELECT date, category,
       COUNT(DISTINCT item_id) AS items,
       median(sale_price) AS median_price,
       AVG(sale_price) AS mean_price,
       AVG(CASE WHEN rollback OR clearance OR msrp > sale_price THEN 1.0 ELSE 0.0 END) AS share_discounted,
       AVG(CASE WHEN stock IS NOT NULL AND stock <> 'Not available' THEN 1.0 ELSE 0.0 END) AS share_in_stock
FROM discounts
WHERE category IS NOT NULL
GROUP BY 1, 2
ORDER BY date, category""",
    "price_moves": f"""
WITH d AS (
    SELECT date, item_id, name, sale_price AS close FROM discounts
),
latest AS (SELECT MAX(date) AS as_of FROM d),
windows AS (SELECT window_days FROM (VALUES (1), (7), (30)) v(window_days)),
to_price AS (
    SELECT d.item_id, d.name, d.close AS to_price, latest.as_of FROM d CROSS JOIN latest WHERE d.date = latest.as_of
),
from_price AS (
    SELECT * FROM (
        SELECT w.window_days, d.item_id, d.close AS from_price,
               ROW_NUMBER() OVER (PARTITION BY w.window_days, d.item_id ORDER BY d.date DESC) AS rn
        FROM d CROSS JOIN windows w CROSS JOIN latest
        WHERE d.date <= latest.as_of - CAST(w.window_days AS INTEGER)
    ) WHERE rn = 1
)
SELECT t.item_id, t.name, CAST(f.window_days AS INT) AS window_days, f.from_price, t.to_price,
       (t.to_price - f.from_price) / f.from_price * 100.0 AS change_pct, t.as_of
FROM to_price t
JOIN from_price f ON f.item_id = t.item_id
WHERE f.from_price > 0
ORDER BY window_days, change_pct, item_id""",
    "price_lows": price_lows_sql("latest.as_of - p.date"),
    "basket": """
SELECT date, currency, COUNT(*) AS items, SUM(close) AS cost
FROM price_daily
WHERE item_id IN ({basket_ids})
GROUP BY date, currency
ORDER BY currency, date""",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lake")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB")
    a = ap.parse_args()
    started = time.time()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(os.path.join(a.out, "clean"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {a.threads}")
    con.execute(f"SET temp_directory = '{os.path.join(a.out, '.tmp')}'")
    con.execute("SET preserve_insertion_order = false")
    if a.memory_limit:
        con.execute(f"SET memory_limit = '{a.memory_limit}'")
    rows = {}
    timings = {}

    def copy(name, sql, folder=""):
        t = time.time()
        path = os.path.join(a.out, folder, f"{name}.parquet")
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION snappy)")
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        rows[name if not folder == "" else f"mart.{name}"] = con.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        timings[name] = time.time() - t

    # Parse stage: the clean tables (crates/transform/src/parse.rs).
    parse_items = """
SELECT record_id, payload.itemId AS item_id, CAST(fetched_at AS TIMESTAMP) AS observed_at, endpoint,
       COALESCE(payload.name, '') AS name, payload.brandName AS brand, payload.categoryPath AS category_path,
       NULLIF(split_part(payload.categoryPath, '/', 1), '') AS category,
       payload.salePrice AS sale_price, payload.msrp AS msrp, payload.stock AS stock,
       COALESCE(payload.rollBack, false) AS rollback, COALESCE(payload.clearance, false) AS clearance{extra}
FROM {table}
WHERE kind = 'raw' AND source = 'walmart' AND payload.itemId > 0 AND payload.salePrice IS NOT NULL"""
    item_files = files(a.lake, "walmart", ITEM_ENDPOINTS)
    copy("price_observations", parse_items.format(extra="", table=reader(item_files, ITEM_COLUMNS)), "clean")
    trend_files = files(a.lake, "walmart", ["trends"])
    if trend_files:
        parsed = parse_items.format(extra=', context."time" AS trend_ms, position',
                                    table=reader(trend_files, ITEM_COLUMNS))
        trending_sql = f"""
SELECT record_id, item_id, name, COALESCE(make_timestamp(trend_ms * 1000), observed_at) AS trend_time,
       CAST(COALESCE(position, 0) AS INTEGER) AS position
FROM ({parsed})"""
    else:
        trending_sql = ("SELECT '' AS record_id, 0::BIGINT AS item_id, '' AS name, TIMESTAMP '1970-01-01' AS "
                        "trend_time, 0 AS position WHERE false")
    copy("trending_appearances", trending_sql, "clean")

    rate_files = files(a.lake, "currencylayer", ["live", "historical"])
    timeframe_files = files(a.lake, "currencylayer", ["timeframe"])
    fx_parts = []
    if rate_files:
        fx_parts.append(f"""
SELECT record_id || ':' || substr(e.key, length(src) + 1) AS record_id, src AS base,
       substr(e.key, length(src) + 1) AS quote, e.value AS rate,
       COALESCE(make_timestamp(ts * 1000000),
                CAST(CAST(dt AS DATE) AS TIMESTAMP) + INTERVAL '23:59:59', fetched) AS rate_time,
       fetched AS fetched_at, endpoint
FROM (SELECT record_id, endpoint, CAST(fetched_at AS TIMESTAMP) AS fetched, payload."timestamp" AS ts,
             payload."date" AS dt, COALESCE(payload.source, 'USD') AS src,
             unnest(map_entries(payload.quotes)) AS e
      FROM {reader(rate_files, RATES_COLUMNS)} WHERE kind = 'raw' AND source = 'currencylayer')""")
    if timeframe_files:
        fx_parts.append(f"""
SELECT record_id || ':' || d.key || ':' || substr(e.key, length(src) + 1), src,
       substr(e.key, length(src) + 1), e.value,
       CAST(CAST(d.key AS DATE) AS TIMESTAMP) + INTERVAL '23:59:59', fetched, endpoint
FROM (SELECT record_id, endpoint, fetched, src, d, unnest(map_entries(d.value)) AS e
      FROM (SELECT record_id, endpoint, CAST(fetched_at AS TIMESTAMP) AS fetched,
                   COALESCE(payload.source, 'USD') AS src, unnest(map_entries(payload.quotes)) AS d
            FROM {reader(timeframe_files, TIMEFRAME_COLUMNS)} WHERE kind = 'raw' AND source = 'currencylayer'))""")
    if not fx_parts:
        fx_parts.append("SELECT '' AS record_id, '' AS base, '' AS quote, 1.0::DOUBLE AS rate, "
                        "TIMESTAMP '1970-01-01' AS rate_time, TIMESTAMP '1970-01-01' AS fetched_at, '' AS endpoint "
                        "WHERE false")
    copy("fx_rates", "\nUNION ALL\n".join(fx_parts), "clean")
    # A body with a non-positive rate or a key without the source prefix is rejected whole by
    # pricelake; the generator writes none, so they are not filtered here.

    # The deduplicated views (crates/transform/src/lib.rs, session()).
    con.execute("""CREATE VIEW obs_unique AS SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY record_id
                   ORDER BY observed_at) AS rn FROM price_observations) WHERE rn = 1""")
    con.execute("""CREATE VIEW obs AS SELECT record_id, item_id, observed_at, endpoint, name, brand, category_path,
                   category, sale_price, msrp, stock, rollback, clearance FROM (SELECT *, ROW_NUMBER() OVER
                   (PARTITION BY item_id, observed_at ORDER BY record_id) AS rn2 FROM obs_unique) WHERE rn2 = 1""")
    con.execute("""CREATE VIEW fx AS SELECT record_id, base, quote, rate, rate_time, fetched_at, endpoint FROM
                   (SELECT *, ROW_NUMBER() OVER (PARTITION BY base, quote, rate_time ORDER BY fetched_at, record_id)
                   AS rn FROM fx_rates) WHERE rn = 1""")
    values = ", ".join(f"('{c}')" for c in [BASE] + [c for c in CURRENCIES if c != BASE])
    con.execute(f"CREATE VIEW currencies AS SELECT col0 AS currency FROM (VALUES {values}) v(col0)")
    # Deduplicate once into a table (pricelake's views are recomputed by each mart; DuckDB
    # would do the same work per mart, so materialising is the fair, faster choice here).
    t = time.time()
    con.execute("CREATE TEMP TABLE obs_t AS SELECT * FROM obs")
    con.execute("CREATE OR REPLACE VIEW obs AS SELECT * FROM obs_t")
    timings["dedup"] = time.time() - t
    rows["duplicates_removed"] = rows["price_observations"] - con.execute("SELECT COUNT(*) FROM obs").fetchone()[0]

    for name, sql in MARTS.items():
        if "{basket_ids}" in sql:
            ids = [r[0] for r in con.execute(
                "SELECT item_id FROM discounts GROUP BY item_id ORDER BY COUNT(*) DESC, item_id LIMIT 10").fetchall()]
            sql = sql.replace("{basket_ids}", ", ".join(map(str, ids)) or "NULL")
        copy(name, sql)
        if name == "prices_fx":
            rows["mart.prices_fx.missing_rate"] = con.execute(
                "SELECT COUNT(*) FROM prices_fx WHERE rate IS NULL").fetchone()[0]
    # The items clean table (every version of each item's attributes), from the deduplicated
    # observations, as pricelake builds it.
    copy("items", ITEMS_SQL, "clean")
    wall = time.time() - started
    shutil.rmtree(os.path.join(a.out, ".tmp"), ignore_errors=True)
    for k in sorted(rows):
        print(f"{k}={rows[k]}")
    print("timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in timings.items()), file=sys.stderr)
    print(f"wall_s={wall:.2f}")


if __name__ == "__main__":
    main()
