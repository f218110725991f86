#!/usr/bin/env bash
# Before/after for one incremental hour, repeated: each build (a path to a pricelake binary,
# named by its file name) gets its own copy of one generated lake, runs `process
# --full-refresh` on it and SKIP more hours, then one more hour is added to every copy
# (`gen_lake.py --add-hour`, the same hour for all); that hour is processed REPS times per
# build, the builds alternating, each time on a fresh hard-linked copy of the build's lake
# (`cp -al`: a run writes new files and never changes one in place). The same hour over and
# over takes out the variation between hours that bench/compare_hours.sh has; what is left is
# the machine's, about ±40 ms a run on 2 cores, so the medians of 20 runs show differences of
# a few percent. Prints every run, then the medians of wall, user and system CPU and peak RSS.
#
# Usage: bash bench/repeat_hour.sh LAKE SKIP REPS BIN... (LAKE from `gen_lake.py`, left
# untouched; the copies go beside it as LAKE-<bin name>). SKIP 0 measures the first hour after
# the full refresh (what bench/process.sh measures); with Delta tables checkpointing every 10
# commits, SKIP 8 measures the hour of the tables' tenth commit. Needs target/bench5-venv (see
# bench/process.sh). BENCH_SKIP_PREPARE=1 reuses copies prepared by an earlier call.
set -euo pipefail
cd "$(dirname "$0")/.."
lake="$1" skip="$2" reps="$3"
shift 3
py=target/bench5-venv/bin/python
copy_of() { echo "$lake-$(basename "$1")"; }
process() {  # process BIN LAKE [ARGS...]: fails loudly with the end of the run's log
  local bin="$1" at="$2" log
  shift 2
  log=$(mktemp)
  if ! PRICELAKE_LAKE__URL="$at" "$bin" process "$@" >/dev/null 2>"$log"; then
    echo "$(basename "$bin") on $at failed:" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
  rm -f "$log"
}
if [ -z "${BENCH_SKIP_PREPARE:-}" ]; then
  for bin in "$@"; do
    copy=$(copy_of "$bin")
    rm -rf "$copy" && cp -r "$lake" "$copy"
    process "$bin" "$copy" --full-refresh
    for _ in $(seq 1 "$skip"); do
      "$py" bench/gen_lake.py "$copy" --add-hour >/dev/null 2>&1
      process "$bin" "$copy"
    done
    "$py" bench/gen_lake.py "$copy" --add-hour >/dev/null 2>&1
  done
fi
scratch="$lake-repeat"
out=$(mktemp)
trap 'rm -rf "$scratch" "$out" "$out.time"' EXIT
for _ in $(seq 1 "$reps"); do
  for bin in "$@"; do
    rm -rf "$scratch" && cp -al "$(copy_of "$bin")" "$scratch" && sync
    sleep 0.5
    /usr/bin/time -o "$out.time" -f "%e %U %S %M" \
      env PRICELAKE_LAKE__URL="$scratch" "$bin" process >/dev/null 2>&1
    echo "$(basename "$bin") $(cat "$out.time")" | tee -a "$out"
  done
done
echo "median of $reps runs: wall s, user s, system s, peak KB"
for bin in "$@"; do
  name=$(basename "$bin")
  printf '%s:' "$name"
  for col in 2 3 4 5; do
    awk -v n="$name" -v c="$col" '$1 == n {print $c}' "$out" | sort -n |
      awk '{a[NR] = $1} END {printf " %s", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2)}'
  done
  echo
done
