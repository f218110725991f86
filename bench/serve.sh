#!/usr/bin/env bash
# HTTP serving benchmark (issue 6): requests/s and p50/p99 latency at 64 connections with wrk on
# 127.0.0.1, for the item list, one item's history and the FX history, from `pricelake serve`
# (lake-backed store, release build) and, in the same run, a Flask app serving the same JSON
# from the same marts (bench/flask_serve.py), as the original did. pricelake runs twice: as
# configured by default (answers kept per run, `[serve] response_cache_mib = 64`) and with that
# cache off (`response_cache_mib = 0`: every request computed from the in-memory marts).
#
# Needs: wrk (Debian package), a release build (cargo build --release -p pricelake), and a
# Python venv with flask and pyarrow at target/bench-venv. Usage: bash bench/serve.sh [LAKE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
lake="${1:-target/bench-lake}"
bin="${PRICELAKE_BIN:-target/release/pricelake}"
py=target/bench-venv/bin/python
duration="${BENCH_DURATION:-10s}"
if [ ! -d "$lake/marts" ]; then
  "$bin" demo --no-serve --lake "$lake" > /dev/null
fi
PRICELAKE_LAKE__URL="$lake" "$bin" serve --bind 127.0.0.1:18080 > target/bench-serve.log 2>&1 &
ours=$!
PRICELAKE_LAKE__URL="$lake" PRICELAKE_SERVE__RESPONSE_CACHE_MIB=0 "$bin" serve --bind 127.0.0.1:18082 > target/bench-serve-nocache.log 2>&1 &
nocache=$!
"$py" bench/flask_serve.py "$lake" 18081 > target/bench-flask.log 2>&1 &
flask=$!
trap 'kill $ours $nocache $flask 2>/dev/null || true' EXIT
for port in 18080 18082 18081; do
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/api/v1/fx?quote=EUR" > /dev/null && break; sleep 0.5; done
done
item=$(curl -s 'http://127.0.0.1:18080/api/v1/items?limit=1' | "$py" -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["item_id"])')
echo "| server | route | requests/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for server in pricelake:18080 pricelake-cache-off:18082 flask:18081; do
  name=${server%%:*}; port=${server##*:}
  for route in "/api/v1/items?limit=50" "/api/v1/items/$item/history?currency=EUR" "/api/v1/fx?quote=EUR"; do
    out=$(wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:$port$route")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}')
    echo "| $name | \`$route\` | $rps | $p50 | $p99 |${errors:+ $errors}"
  done
done
