"""Reads every clean table and mart of a pricelake lake with pyarrow and with DuckDB, as a
user of those tools would (no conversion), and prints the row counts as JSON."""
import json
import os
import sys

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

lake = sys.argv[1]
out = {"pyarrow": {}, "duckdb": {}, "columns": {}}
for table in sorted(os.listdir(os.path.join(lake, "clean"))):
    folder = os.path.join(lake, "clean", table)
    if table == "items":
        # Rewritten by every run: the newest run's folder is the table.
        folder = os.path.join(folder, max(os.listdir(folder)))
    data = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    out["pyarrow"][table] = data.num_rows
    out["columns"][table] = data.schema.names
    out["duckdb"][table] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{folder}/*/*.parquet', hive_partitioning = true)"
    ).fetchall()[0][0]
for mart in sorted(os.listdir(os.path.join(lake, "marts"))):
    # The newest run's folder is the mart: one file per day for a mart kept by day, one
    # file for a mart over the whole lake.
    run = max(os.listdir(os.path.join(lake, "marts", mart)))
    folder = os.path.join(lake, "marts", mart, run)
    table = pq.read_table(folder)
    out["pyarrow"]["mart." + mart] = table.num_rows
    out["columns"]["mart." + mart] = table.schema.names
    out["duckdb"]["mart." + mart] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')"
    ).fetchall()[0][0]
print(json.dumps(out))
