# A strategy stopped mid-phase under `modx continual --strategy` is finished
# first by a later `modx run --resume`, whatever its place in the experiment:
# its resume checkpoint records where metrics.jsonl ended, and another
# strategy appending before it would cut or shift the log. The run ends with
# the results and checkpoints of an uninterrupted run and every evaluation once.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune", "modx"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 3, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 2}'
"$MODX" run "$D/exp.json" --out "$TMP/solo" --quiet --no-report > /dev/null
R="$TMP/r"
# phase 0: 2 epochs x 3 steps; each modx phase: 3 epochs x 3 steps; stop at step 4 of modx phase 2 (checkpoint_every 2)
MODX_TEST_KILL_AFTER_STEPS=19 "$MODX" continual "$D/exp.json" --strategy modx --out "$R" --quiet --no-report \
  > /dev/null 2>&1 && { echo "the kill hook did not fire"; exit 1; }
[ -f "$R/modx/resume.safetensors" ] || { echo "no mid-phase resume checkpoint to test with"; ls -R "$R"; exit 1; }
"$MODX" run --resume "$R" --quiet --no-report > /dev/null
cmp <(sort "$TMP/solo/results.csv") <(sort "$R/results.csv")
for f in $(cd "$TMP/solo" && find . -name 'model.safetensors' | sort); do cmp "$TMP/solo/$f" "$R/$f"; done
n=$(grep -c '"type": "eval"' "$TMP/solo/metrics.jsonl")
[ "$(grep -c '"type": "eval"' "$R/metrics.jsonl")" -eq "$n" ]
[ "$(grep '"type": "eval"' "$R/metrics.jsonl" | sed -E 's/, "i2t_R@1".*//' | sort | uniq -d | wc -l)" -eq 0 ]
echo ok
