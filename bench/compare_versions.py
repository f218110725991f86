"""Compares two pricelake builds on the same demo: the marts each writes and the API answers
each serves (issue 25, point 8: "the demo, the API answers and the marts are what they were").

Each binary runs `pricelake demo --no-serve` with the same seed and days into a lake of its own,
then `pricelake serve` on it. The marts of each lake's current run (the files its newest
manifest produced) are compared row for row in DuckDB (EXCEPT ALL both ways, on the columns both
have but the record id, which hashes a raw object's random name); the answers of a fixed list of API requests are compared as JSON, leaving out the fields
that name the run or its time. Prints what differs and exits 0 either way: a difference is for a
person to judge against the issues that meant to change it.

Usage: python bench/compare_versions.py BEFORE_BIN AFTER_BIN [--days 30] [--seed 42] [--out DIR]
Needs duckdb (the test venv has it).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import duckdb

from lake_runs import current_marts

# Columns that differ between any two demos whatever the build: a record id hashes the raw
# object's name, which carries a random UUID (Firehose's naming).
IDENTITY = {"record_id"}
# Fields that name a run or when it ran: they differ between any two runs.
VOLATILE = {"run_id", "finished_at", "started_at", "loaded_at", "published_at", "uptime_s", "age_s"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo(binary, lake, days, seed):
    shutil.rmtree(lake, ignore_errors=True)
    started = time.time()
    subprocess.run([binary, "demo", "--no-serve", "--days", str(days), "--seed", str(seed), "--lake", lake],
                   check=True, stdout=subprocess.DEVNULL, stderr=open(lake.rstrip("/") + ".log", "w"))
    return time.time() - started


def compare_marts(before, after):
    b, a = current_marts(before), current_marts(after)
    con = duckdb.connect()
    out = []
    for mart in sorted(set(b) | set(a)):
        if mart not in b or mart not in a:
            out.append((mart, "only in " + ("after" if mart in a else "before"), None))
            continue
        cols_b = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [b[mart]]).fetchall()]
        cols_a = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [a[mart]]).fetchall()]
        common = [c for c in cols_b if c in cols_a and c not in IDENTITY]
        sel = ", ".join(f'"{c}"' for c in common)
        rows_b = con.execute("SELECT count(*) FROM read_parquet(?)", [b[mart]]).fetchone()[0]
        rows_a = con.execute("SELECT count(*) FROM read_parquet(?)", [a[mart]]).fetchone()[0]
        only_b = con.execute(f"SELECT count(*) FROM (SELECT {sel} FROM read_parquet(?) EXCEPT ALL SELECT {sel} FROM read_parquet(?))", [b[mart], a[mart]]).fetchone()[0]
        only_a = con.execute(f"SELECT count(*) FROM (SELECT {sel} FROM read_parquet(?) EXCEPT ALL SELECT {sel} FROM read_parquet(?))", [a[mart], b[mart]]).fetchone()[0]
        note = "same rows" if only_a == only_b == 0 and cols_a == cols_b else (
            f"{only_b} rows only before, {only_a} only after" + ("" if cols_a == cols_b else f"; columns {cols_b} -> {cols_a}"))
        out.append((mart, note, (rows_b, rows_a)))
    return out


def serve(binary, lake):
    port = free_port()
    env = dict(os.environ, PRICELAKE_LAKE__URL=lake)
    proc = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if urllib.request.urlopen(base + "/readyz", timeout=1).status == 200:
                return proc, base
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{binary} serve on {lake} never got ready")


def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def scrub(value):
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def requests(base):
    """The requests compared: every mart route with its parameters varied, found on `base`."""
    items = json.loads(get(base, "/api/v1/items?limit=3")[1])
    ids = [i["item_id"] for i in items["items"]] if isinstance(items, dict) and "items" in items else []
    paths = ["/api/v1/currencies", "/api/v1/items", "/api/v1/items?limit=5&sort=price",
             "/api/v1/items?q=a&limit=5", "/api/v1/categories", "/api/v1/trending",
             "/api/v1/discounts", "/api/v1/discounts?limit=5", "/api/v1/vod", "/api/v1/vod?currency=EUR",
             "/api/v1/moves?window=1", "/api/v1/moves?window=7", "/api/v1/fx", "/api/v1/fx?quote=EUR",
             "/api/v1/basket", "/api/v1/basket?currency=GBP", "/api/v1/items/0", "/api/v1/fx?quote=XXX",
             "/api/v1/charts/vod", "/api/v1/charts/fx", "/api/v1/charts/basket", "/api/v1/charts/discounts",
             "/api/v1/charts/trending", "/api/v1/charts/moves"]
    for i in ids:
        paths += [f"/api/v1/items/{i}", f"/api/v1/items/{i}/history", f"/api/v1/items/{i}/history?currency=EUR",
                  f"/api/v1/charts/history?item={i}"]
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="target/compare-versions")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lakes = {}
    for name, binary in (("before", args.before), ("after", args.after)):
        lakes[name] = os.path.abspath(os.path.join(args.out, name + "-lake"))
        took = demo(binary, lakes[name], args.days, args.seed)
        print(f"{name}: {binary} demo --days {args.days} --seed {args.seed}: {took:.1f} s")
    print("\n| mart | rows before | rows after | result |\n|---|---|---|---|")
    for mart, note, counts in compare_marts(lakes["before"], lakes["after"]):
        print(f"| {mart} | {counts[0] if counts else ''} | {counts[1] if counts else ''} | {note} |")
    servers = {name: serve(binary, lakes[name]) for name, binary in (("before", args.before), ("after", args.after))}
    try:
        paths = requests(servers["after"][1])
        same, differ = 0, []
        for path in paths:
            sb, bb = get(servers["before"][1], path)
            sa, ba = get(servers["after"][1], path)
            try:
                jb, ja = scrub(json.loads(bb)), scrub(json.loads(ba))
            except ValueError:
                jb, ja = bb, ba
            if sb == sa and jb == ja:
                same += 1
            else:
                keys = ""
                if isinstance(jb, dict) and isinstance(ja, dict):
                    keys = f" (keys only after: {sorted(set(ja) - set(jb))}, only before: {sorted(set(jb) - set(ja))}, " \
                           f"changed: {sorted(k for k in set(ja) & set(jb) if ja[k] != jb[k])})"
                differ.append(f"{path}: {sb} -> {sa}{keys}")
        print(f"\nAPI: {len(paths)} requests, {same} answered the same")
        for d in differ:
            print("  differs:", d)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
