# GNU-style conventions: --version / -V, `modx help CMD`, "did you mean" for a
# mistyped command or option, and a run stopped by SIGINT exits with 130
# (128 + SIGINT) after writing its resume checkpoint, then resumes.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
v=$("$MODX" --version); [ "$v" = "$("$MODX" -V)" ] && [ "$v" = "$("$MODX" version)" ]
grep -Eq '^modx [0-9]+\.[0-9]+\.[0-9]+$' <<<"$v"
"$MODX" help merge | grep -q '^usage: modx merge'
[ "$("$MODX" help merge)" = "$("$MODX" merge --help)" ]
if "$MODX" help mergee 2> "$TMP/e"; then exit 1; fi; grep -q "did you mean 'merge'" "$TMP/e"
if "$MODX" trian 2> "$TMP/e"; then exit 1; fi; grep -q "unknown command 'trian'; did you mean 'train'?" "$TMP/e"
if "$MODX" train --epoch 2 2> "$TMP/e"; then exit 1; fi; grep -q "unknown option '--epoch'; did you mean '--epochs'?" "$TMP/e"
if "$MODX" train --zzzzzz 2> "$TMP/e"; then exit 1; fi; ! grep -q "did you mean" "$TMP/e"
# SIGINT: a clean stop (exit 130) with a resume checkpoint, then --resume finishes the run
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune"]' '{"test_set": "red", "pairs": 4}' '{"epochs": 40, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8}'
"$MODX" run "$D/exp.json" --out "$TMP/r" --quiet --no-report > /dev/null 2> "$TMP/err" & pid=$!
for _ in $(seq 200); do grep -q '"type": "step", "strategy": "finetune"' "$TMP/r/metrics.jsonl" 2>/dev/null && break; sleep 0.05; done
kill -INT $pid
rc=0; wait $pid || rc=$?
[ $rc -eq 130 ] || { echo "exit $rc after SIGINT, expected 130"; cat "$TMP/err"; exit 1; }
grep -q "resume with --resume" "$TMP/err"
[ -f "$TMP/r/finetune/resume.safetensors" ]
"$MODX" run --resume "$TMP/r" --quiet --no-report > /dev/null
grep -q '"status":	"done"' "$TMP/r/run.json"
echo ok
