#!/usr/bin/env bash
# Before/after for incremental processing: each build (a path to a pricelake binary, named by its
# file name) gets its own copy of one generated lake, runs `process --full-refresh` on it, then N
# new hours, the builds alternating hour by hour (`gen_lake.py --add-hour` adds the same hour to
# every copy). Prints wall, user+system CPU and peak RSS per run. An alternating series shows a
# difference of a few percent that one hour each (bench/process.sh) cannot tell from noise.
#
# Usage: bash bench/compare_hours.sh LAKE HOURS BIN... (LAKE from `gen_lake.py`, left untouched;
# the copies go beside it as LAKE-<bin name>). Needs target/bench5-venv (see bench/process.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
lake="$1" hours="$2"
shift 2
py=target/bench5-venv/bin/python
for bin in "$@"; do
  copy="$lake-$(basename "$bin")"
  rm -rf "$copy" && cp -r "$lake" "$copy"
done
log=$(mktemp)
trap 'rm -f "$log" "$log.time"' EXIT
run() {  # run BIN LABEL ARGS...; on failure, shows the end of the run's log and stops
  local bin="$1" label="$2"
  shift 2
  if ! PRICELAKE_LAKE__URL="$lake-$(basename "$bin")" /usr/bin/time -o "$log.time" \
    -f "$(basename "$bin") $label: %e s wall, %U+%S s cpu, %M KB peak" "$bin" process "$@" >/dev/null 2>"$log"; then
    echo "$(basename "$bin") $label failed:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  cat "$log.time"
}
for bin in "$@"; do run "$bin" "full refresh" --full-refresh; done
for hour in $(seq 1 "$hours"); do
  for bin in "$@"; do
    "$py" bench/gen_lake.py "$lake-$(basename "$bin")" --add-hour >/dev/null 2>&1
    run "$bin" "hour $hour"
  done
done
