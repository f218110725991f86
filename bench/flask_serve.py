"""The peer of `pricelake serve` in bench/serve.sh: the original stack's way (Flask), serving the
same three routes with the same JSON from the same marts, loaded once from the lake's Parquet.

Usage: python flask_serve.py LAKE_DIR PORT
"""

import datetime
import json
import pathlib
import sys

import pyarrow.parquet as pq
from flask import Flask, Response, request

lake = pathlib.Path(sys.argv[1])
port = int(sys.argv[2])


def mart(name):
    # each mart is a Delta table: its latest version's files, in the mart's order (by day)
    from deltalake import DeltaTable

    folder = lake / "marts" / name
    files = sorted(DeltaTable(str(folder)).files(), key=lambda f: (pathlib.Path(f).name, f))
    rows = pq.read_table([str(folder / f) for f in files]).to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, (datetime.date, datetime.datetime)):
                row[key] = value.isoformat()
    return rows


items = {}
for row in mart("discounts"):  # sorted by date: the last row per item is its latest state
    items[row["item_id"]] = row
daily = {}
for row in mart("price_daily"):
    daily.setdefault(row["item_id"], []).append(row)
fx_daily = mart("fx_daily")

app = Flask(__name__)


def as_json(value):
    return Response(json.dumps(value), mimetype="application/json")


@app.route("/api/v1/items")
def item_list():
    limit = int(request.args.get("limit", 50))
    rows = sorted(items.values(), key=lambda r: r["name"] or "")
    return as_json({"items": rows[:limit], "total": len(rows), "next_cursor": str(limit) if limit < len(rows) else None})


@app.route("/api/v1/items/<int:item_id>/history")
def history(item_id):
    currency = request.args.get("currency", "EUR")
    if item_id not in items:
        return as_json({"error": {"param": "id", "message": "no such item"}}), 404
    rows = sorted((r for r in daily.get(item_id, []) if r["currency"] == currency), key=lambda r: r["date"])
    return as_json({"item_id": item_id, "currency": currency, "days": rows})


@app.route("/api/v1/fx")
def fx():
    quote = request.args.get("quote", "EUR")
    rows = sorted((r for r in fx_daily if r["quote"] == quote), key=lambda r: r["date"])
    return as_json({"base": "USD", "quote": quote, "days": rows})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=port, threaded=True)
