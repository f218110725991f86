#!/usr/bin/env bash
# Processing benchmark (issue 5, point 7): on a generated lake of N price observations (default
# 10 million; FX quotes every hour for 30 currencies), time `pricelake process --full-refresh`,
# then one new hour (`gen_lake.py --add-hour`) and the incremental `pricelake process`, then in
# the same run the same transformations for DuckDB (bench/duckdb_marts.py) and PySpark local[2]
# (bench/pyspark_marts.py) over the same raw files. Wall time and peak memory per phase (peak RSS
# of the whole process tree, sampled, and /usr/bin/time's maximum RSS, whichever is larger: the
# JVM of PySpark is not always a waited-for child), then rows per table and mart side by side
# (pricelake's from the incremental run's manifest, which covers the same raw objects).
#
# Needs: a release build (cargo build --release -p pricelake, or PRICELAKE_BIN), Java 17, and a
# venv at target/bench5-venv with duckdb, pyspark and pyarrow. Usage: bash bench/process.sh [N]
# Env: BENCH_LAKE (default target/bench5-lake), BENCH_ITEMS (20000), BENCH_SKIP (comma list of
# pricelake,duckdb,pyspark to leave out), BENCH_DUCKDB_MEMORY (DuckDB memory_limit, e.g. 2GB; by
# default DuckDB takes up to 80% of RAM and does: about 19 GB peak at 10 M on a 23 GB machine),
# BENCH_PYSPARK_MEMORY (the PySpark driver's heap, 4g by default: with 2g it ran out of heap at
# 10 M on 2026-12-01). The lake is generated only if absent; each run adds one
# hour to it (the incremental phase), so delete it to start again from exactly N.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000000}"
lake="${BENCH_LAKE:-target/bench5-lake}"
bin="${PRICELAKE_BIN:-target/release/pricelake}"
py=target/bench5-venv/bin/python
out=target/bench5-out
skip=",${BENCH_SKIP:-},"
mkdir -p "$out"
results="$out/results.md"
: > "$results"
rm -f "$out"/*.rows  # rows of an earlier run must not end up in this run's comparison

# Runs a command; records wall seconds and peak RSS (MB) of its process tree in $wall / $peak.
measure() {
  local tfile="$out/time-$(basename "$1")-$((++phase)).txt" peak_kb=0
  /usr/bin/time -v -o "$tfile" "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    local kb
    kb=$(ps -e -o pid=,ppid=,rss= | awk -v root="$pid" '
      { parent[$1] = $2; rss[$1] = $3 }
      END { for (p in parent) { q = p; while (q != "" && q != 0 && q != root) q = parent[q]; if (q == root) s += rss[p] } print s + 0 }')
    [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
    sleep 0.2
  done
  wait "$pid"
  local maxrss
  maxrss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
  [ "$maxrss" -gt "$peak_kb" ] && peak_kb=$maxrss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$tfile")
  peak=$((peak_kb / 1024))
}

row() { echo "| $1 | $2 | $wall | $peak | $3 |" >> "$results"; }
phase=0
mart_rows() { awk -F= '$1 == "mart.prices_fx" {print $2}' "$1"; }

if [ ! -d "$lake/raw" ]; then
  echo "generating $n observations into $lake ..." >&2
  measure "$py" bench/gen_lake.py "$lake" --observations "$n" --items "${BENCH_ITEMS:-20000}"
  row generator "lake, $n observations" "$(du -sh "$lake/raw" | cut -f1) gzip"
fi

manifest_rows() {  # marts of the newest committed run; clean rows and rejections summed over runs
  "$py" - "$lake" <<'EOF'
import glob, json, os, sys
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "_manifests", "process", "*.json")))]
latest = lambda k: k.startswith("mart.") or k == "items"  # rewritten by every run
rows = {k: v for k, v in runs[-1]["rows"].items() if latest(k)}
for m in runs:
    for k, v in m["rows"].items():
        if not latest(k):
            rows[k] = rows.get(k, 0) + v
    for k, v in m["rejected"].items():
        rows["rejected." + k] = rows.get("rejected." + k, 0) + v
rows["duplicates_removed"] = runs[-1].get("duplicates_removed", 0)
for k, v in sorted(rows.items()):
    print(f"{k}={v}")
EOF
}

if [[ $skip != *,pricelake,* ]]; then
  export PRICELAKE_LAKE__URL="$lake"
  measure "$bin" process --full-refresh > "$out/pricelake-full.log"
  manifest_rows > "$out/pricelake-full.rows"
  row pricelake "full refresh" "$(mart_rows "$out/pricelake-full.rows") prices_fx rows"
  "$py" bench/gen_lake.py "$lake" --add-hour > "$out/add-hour.log"
  measure "$bin" process > "$out/pricelake-incremental.log"
  manifest_rows > "$out/pricelake.rows"
  row pricelake "incremental, 1 new hour" "$(mart_rows "$out/pricelake.rows") prices_fx rows"
  unset PRICELAKE_LAKE__URL
fi
if [[ $skip != *,duckdb,* ]]; then
  measure "$py" bench/duckdb_marts.py "$lake" "$out/duckdb" ${BENCH_DUCKDB_MEMORY:+--memory-limit "$BENCH_DUCKDB_MEMORY"} > "$out/duckdb.rows" 2> "$out/duckdb.log"
  row duckdb "full refresh" "$(mart_rows "$out/duckdb.rows") prices_fx rows"
fi
if [[ $skip != *,pyspark,* ]]; then
  measure "$py" bench/pyspark_marts.py "$lake" "$out/pyspark" --driver-memory "${BENCH_PYSPARK_MEMORY:-4g}" > "$out/pyspark.rows" 2> "$out/pyspark.log"
  row "pyspark local[2]" "full refresh" "$(mart_rows "$out/pyspark.rows") prices_fx rows"
fi

echo "| engine | phase | wall s | peak RSS MB | rows |"
echo "|---|---|---|---|---|"
cat "$results"
echo
# Rows side by side (pricelake: the incremental run's manifest, same raw objects as the others).
"$py" - "$out" <<'EOF'
import os, sys
out = sys.argv[1]
cols = [("pricelake", "pricelake.rows"), ("duckdb", "duckdb.rows"), ("pyspark", "pyspark.rows")]
data = {}
for name, f in cols:
    p = os.path.join(out, f)
    if os.path.exists(p):
        data[name] = dict(l.strip().split("=", 1) for l in open(p) if "=" in l and not l.startswith("wall_s"))
keys = sorted({k for d in data.values() for k in d})
print("| table or mart | " + " | ".join(data) + " |")
print("|---|" + "---|" * len(data))
for k in keys:
    vals = [data[n].get(k, "") for n in data]
    flag = "" if len({v for v in vals if v}) <= 1 else " **differs**"
    print(f"| {k}{flag} | " + " | ".join(vals) + " |")
EOF
