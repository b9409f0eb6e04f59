# One writer per run directory: 5 pairs of simultaneous `modx run` into one
# folder — exactly one of each pair runs, the other exits non-zero at once
# naming the holder's pid and command; the finished run equals a solo run file
# by file (timings aside). A kill -9 of the holder releases the lock: a
# following --resume starts at once and ends as the solo run.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune", "modx"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 6, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8}'
"$MODX" run "$D/exp.json" --out "$TMP/solo" --quiet --no-report > /dev/null
same_as_solo() { # DIR
  cmp "$TMP/solo/results.csv" "$1/results.csv"
  for f in $(cd "$TMP/solo" && find . -name '*.safetensors' | sort); do cmp "$TMP/solo/$f" "$1/$f"; done
  diff <(metrics_sans_timings "$TMP/solo/metrics.jsonl") \
       <(metrics_sans_timings "$1/metrics.jsonl")
}
for i in 1 2 3 4 5; do
  R="$TMP/pair$i"
  "$MODX" run "$D/exp.json" --out "$R" --quiet --no-report > "$TMP/a$i.out" 2> "$TMP/a$i.err" & a=$!
  "$MODX" run "$D/exp.json" --out "$R" --quiet --no-report > "$TMP/b$i.out" 2> "$TMP/b$i.err" & b=$!
  ra=0; rb=0
  wait $a || ra=$?
  wait $b || rb=$?
  if [ $ra -eq 0 ] && [ $rb -ne 0 ]; then lost=b; elif [ $rb -eq 0 ] && [ $ra -ne 0 ]; then lost=a; else
    echo "pair $i: exit codes $ra and $rb (expected exactly one success)"; cat "$TMP/a$i.err" "$TMP/b$i.err"; exit 1; fi
  grep -q "is being written by another modx process (pid [0-9]*: modx run .*--out $R" "$TMP/$lost$i.err" ||
    { echo "pair $i: the refused run does not name the holder:"; cat "$TMP/$lost$i.err"; exit 1; }
  same_as_solo "$R"
done
# kill -9 of the holder: the kernel releases the lock, --resume starts at once
R="$TMP/killed"
"$MODX" run "$D/exp.json" --out "$R" --quiet --no-report > /dev/null 2>&1 & h=$!
for _ in $(seq 100); do grep -q '"type": "step", "strategy": "finetune"' "$R/metrics.jsonl" 2>/dev/null && break; sleep 0.1; done
kill -9 $h; wait $h 2>/dev/null || true
grep -q "pid $h" "$R/.modx.lock"
"$MODX" run --resume "$R" --quiet --no-report > /dev/null
same_as_solo "$R"
echo ok
