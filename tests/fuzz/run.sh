#!/usr/bin/env bash
# Runs every libFuzzer target of BUILD_DIR/fuzz (tests/fuzz/build.sh) for SECONDS
# each, from the repository root, on a working corpus seeded from
# tests/fuzz/seeds/<target> with tests/fuzz/<target>.dict when there is one, and
# prints per target: executions, coverage (libFuzzer's cov: edges and ft:
# features), corpus size and whether it crashed (the reproducer is kept in
# BUILD_DIR/fuzz-crashes/). Exits non-zero when a target crashed.
# Usage: tests/fuzz/run.sh [SECONDS (30)] [BUILD_DIR (build-fuzz)]   (make fuzz-run FUZZ_SECONDS=N)
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-30}
out=${2:-build-fuzz}
ls "$out"/fuzz/fuzz_* > /dev/null 2>&1 || { echo "no fuzz targets in $out/fuzz: run make fuzz" >&2; exit 2; }
mkdir -p "$out/fuzz-corpus" "$out/fuzz-logs" "$out/fuzz-crashes"
printf '%-20s %12s %8s %8s %8s  %s\n' target executions cov ft corpus result
crashed=0
for bin in "$out"/fuzz/fuzz_*; do
  name=$(basename "$bin")
  corpus="$out/fuzz-corpus/$name"
  mkdir -p "$corpus"
  [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=("-dict=tests/fuzz/$name.dict")
  log="$out/fuzz-logs/$name.log"
  "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=25 -rss_limit_mb=3072 \
    -artifact_prefix="$out/fuzz-crashes/$name-" "${dict[@]}" "$corpus" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | awk '{print $2}')
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | awk '{print $2}')
  result="ok"
  if [ "$rc" -ne 0 ]; then
    result="CRASHED (exit $rc; see $log)"
    crashed=$((crashed + 1))
  fi
  printf '%-20s %12s %8s %8s %8s  %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
done
[ "$crashed" -eq 0 ]
