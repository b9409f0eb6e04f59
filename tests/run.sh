#!/usr/bin/env bash
# Runs the whole suite against one build directory and closes with
# "N passed, N failed". Usage: tests/run.sh BUILD_DIR [FILTER]
#   BUILD_DIR/tests/unit     all C unit, gradient, reference and corrupt-input cases
#   tests/cli/test_*.sh      end-to-end cases of the modx command (one case per script;
#                            each gets MODX=path/to/modx and a scratch dir in TMP)
set -u
build=${1:?usage: tests/run.sh BUILD_DIR [FILTER]}
filter=${2:-}
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()

unit_log=$(mktemp)
MODX="$PWD/$build/modx" "$build/tests/unit" $filter 2>&1 | tee "$unit_log"
unit_rc=${PIPESTATUS[0]}
summary=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed$' "$unit_log" | tail -n 1)
if [ -n "$summary" ]; then
  p=$(sed -E 's/^unit: ([0-9]+) passed.*/\1/' <<<"$summary")
  f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$summary")
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && failures+=("unit ($f)")
fi
if [ "$unit_rc" -ne 0 ] && { [ -z "$summary" ] || [ "$f" -eq 0 ]; }; then
  failed=$((failed + 1)); failures+=("unit binary exited $unit_rc")
fi
rm -f "$unit_log"

for t in tests/cli/test_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then continue; fi
  tmp=$(mktemp -d)
  echo "... $name"
  if MODX="$PWD/$build/modx" BUILD="$build" TMP="$tmp" timeout 900 bash "$t" >"$tmp/.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    rc=$?
    failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (exit $rc)"; sed 's/^/    /' "$tmp/.log" | tail -n 40
  fi
  rm -rf "$tmp"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
