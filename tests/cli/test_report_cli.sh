# modx report: help, argument errors, the demo report file, and the clear
# "not found" errors for a run directory without the expected inputs
# (complete run directories: test_analyze_run.sh).
set -eu
"$MODX" report --help | grep -q 'RUN_DIR/metrics.jsonl'

"$MODX" report --demo-data "$TMP/r.html" --regions "$TMP/r.regions" | grep -q "wrote $TMP/r.html"
head -c 15 "$TMP/r.html" | grep -q '<!DOCTYPE html>'
tail -n 3 "$TMP/r.html" | grep -q '</html>'
[ "$(grep -o 'class="plot"' "$TMP/r.html" | wc -l)" -eq 16 ]
[ "$(grep -c '^plot ' "$TMP/r.regions")" -eq 16 ]
if grep -q -e '<script' -e 'src=' -e 'href=' "$TMP/r.html"; then echo "report is not self-contained"; exit 1; fi
ls "$TMP" | grep -q '\.tmp' && { echo "temporary file left behind"; exit 1; }

expect_fail() { # RC PATTERN ARGS...
  local want=$1 pat=$2; shift 2
  set +e
  "$MODX" report "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  set -e
  [ "$rc" -eq "$want" ] || { echo "modx report $*: exit $rc, want $want"; cat "$TMP/err"; exit 1; }
  grep -q -- "$pat" "$TMP/err" || { echo "modx report $*: stderr lacks '$pat':"; cat "$TMP/err"; exit 1; }
}
expect_fail 2 'exactly one of' 
expect_fail 2 'exactly one of' "$TMP" --demo-data "$TMP/x.html"
expect_fail 2 'needs --regions' --check-png "$TMP/x.png"
expect_fail 2 "unknown option '--bogus'" --bogus
expect_fail 1 'not a directory' "$TMP/missing-run"
mkdir -p "$TMP/run"
expect_fail 1 "$TMP/run/run.json" "$TMP/run"
touch "$TMP/run/run.json"
expect_fail 1 "$TMP/run/run.json: not valid JSON" "$TMP/run"
echo '{"format": "modx-run-1", "name": "x", "strategies": ["a"], "phases": 1, "test_sets": [], "status": "done"}' >"$TMP/run/run.json"
expect_fail 1 "$TMP/run/metrics.jsonl not found" "$TMP/run"
expect_fail 1 'cannot open' --check-png "$TMP/none.png" --regions "$TMP/r.regions"
printf 'not a png' >"$TMP/bad.png"
expect_fail 1 'not a readable PNG' --check-png "$TMP/bad.png" --regions "$TMP/r.regions"
printf 'page 10 10\nplot a 1 2\n' >"$TMP/bad.regions"
expect_fail 1 'bad.regions:2' --check-png "$TMP/bad.png" --regions "$TMP/bad.regions"
