"""Reads every table of a pricelake lake as a Delta Lake table, as users of those tools do
(no conversion, nothing of pricelake's): the `deltalake` package (delta-rs) into pandas, polars'
`read_delta`, and DuckDB's `delta_scan` from the `duckdb-extension-delta` wheel (offline). Each
table is read at its latest version and at the one before. Prints, as JSON, per table and
version, the rows each tool counted, and the columns polars found.

Usage: read_with_others.py LAKE_FOLDER"""
import json
import os
import sys

import duckdb
import polars as pl
from deltalake import DeltaTable
from duckdb_extensions import import_extension

lake = os.path.abspath(sys.argv[1])
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false")
import_extension("delta", con=con)
con.execute("LOAD delta")

out = {"tables": {}}
for zone in ("clean", "marts"):
    for name in sorted(os.listdir(os.path.join(lake, zone))):
        folder = os.path.join(lake, zone, name)
        if not os.path.isdir(os.path.join(folder, "_delta_log")):
            out["tables"][f"{zone}/{name}"] = None
            continue
        uri = "file://" + folder
        latest = DeltaTable(uri).version()
        versions = {}
        for version in sorted({latest, max(latest - 1, 0)}):
            pandas_rows = len(DeltaTable(uri, version=version).to_pandas())
            polars_rows = pl.read_delta(uri, version=version).height
            duckdb_rows = con.sql(
                f"SELECT count(*) FROM delta_scan('{uri}', version => {version})"
            ).fetchall()[0][0]
            versions[str(version)] = {
                "pandas": pandas_rows,
                "polars": polars_rows,
                "duckdb": duckdb_rows,
            }
        out["tables"][f"{zone}/{name}"] = {
            "latest": latest,
            "versions": versions,
            "columns": pl.read_delta(uri).columns,
        }
print(json.dumps(out))
