"""Checks that a port (bench/duckdb_marts.py, bench/pyspark_marts.py), a peer that
bench/process.sh times against pricelake, computes the marts pricelake computes: it runs the port
on a lake that `pricelake process` has processed and compares each mart with the lake's current
run, row for row (EXCEPT ALL both ways, doubles rounded to 6 decimals, the record id left out:
the ports hash nothing). A port that drifts from the SQL it stands for would make the benchmark
compare different work; this says so.

Usage: python bench/check_ports.py LAKE_DIR [--port duckdb|pyspark] [--out DIR]
Exits 1 when a mart differs or is missing on either side. Needs duckdb (the test venv has it),
and pyspark for that port.
"""
import argparse
import glob
import os
import subprocess
import sys

import duckdb

from lake_runs import current_marts

# Marts pricelake keeps for itself (not a reader's table) and columns only one side has.
# (`item_days` is the items table's input; the port builds items from the observations.)
INTERNAL = {"price_lows_settled", "item_days"}
# The record id hashes a raw object's name, which the port does not; `run` is pricelake's run
# folder, read as a partition column.
IDENTITY = {"record_id", "run"}


def columns(con, files):
    return [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = true)", [files]).fetchall()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lake")
    ap.add_argument("--port", choices=["duckdb", "pyspark"], default="duckdb")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    out = a.out or a.lake.rstrip("/") + f"-{a.port}-port"
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(here, f"{a.port}_marts.py"), a.lake, out], check=True,
                   stdout=subprocess.DEVNULL)
    ours = {m: f for m, f in current_marts(a.lake).items() if m not in INTERNAL}
    if a.port == "duckdb":
        # One file per mart.
        port = {os.path.basename(p)[: -len(".parquet")]: [p] for p in glob.glob(os.path.join(out, "*.parquet"))}
    else:
        # A folder of part files per mart (the clean tables are under clean/).
        port = {os.path.basename(d): sorted(glob.glob(os.path.join(d, "*.parquet")))
                for d in glob.glob(os.path.join(out, "*")) if os.path.isdir(d) and not d.endswith(("clean", ".tmp"))}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    failed = False
    for mart in sorted(set(ours) | set(port)):
        if mart not in ours or mart not in port:
            print(f"{mart}: only in {'the port' if mart in port else 'pricelake'}")
            failed = True
            continue
        theirs_cols = dict(columns(con, port[mart]))
        ours_cols = columns(con, ours[mart])
        missing = [c for c, _ in ours_cols if c not in theirs_cols and c not in IDENTITY]
        if missing:
            print(f"{mart}: the port lacks {missing}")
            failed = True
            continue

        def select(name, kind):
            if kind in ("DOUBLE", "FLOAT"):
                return f'ROUND("{name}", 6) AS "{name}"'
            if kind.startswith("TIMESTAMP"):
                return f'CAST("{name}" AS TIMESTAMP) AS "{name}"'
            return f'CAST("{name}" AS {kind}) AS "{name}"'

        sel = ", ".join(select(c, k) for c, k in ours_cols if c not in IDENTITY)
        n_ours = con.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [ours[mart]]).fetchone()[0]
        n_port = con.execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [port[mart]]).fetchone()[0]
        only_ours = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM read_parquet(?, hive_partitioning = true) EXCEPT ALL SELECT {sel} FROM read_parquet(?, hive_partitioning = true))",
            [ours[mart], port[mart]]).fetchone()[0]
        only_port = con.execute(
            f"SELECT count(*) FROM (SELECT {sel} FROM read_parquet(?, hive_partitioning = true) EXCEPT ALL SELECT {sel} FROM read_parquet(?, hive_partitioning = true))",
            [port[mart], ours[mart]]).fetchone()[0]
        same = only_ours == only_port == 0
        failed |= not same
        print(f"{mart}: {n_ours} rows in pricelake, {n_port} in the port"
              + ("; the same rows" if same else f"; {only_ours} only in pricelake, {only_port} only in the port"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
