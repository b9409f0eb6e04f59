# The progress line shows the epoch, the learning rate, the phase's ETA and
# the whole run's (all strategies and phases); metrics.jsonl lines carry a UTC
# timestamp, step lines the epoch and logit_scale too.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" '["finetune", "joint"]' \
  '{"test_set": "red", "pairs": 4}' '{"epochs": 3, "batch": 4, "log_every": 3, "eval_batch": 8}'
MODX_PROGRESS=plain "$MODX" run "$D/exp.json" --out "$TMP/r" --no-report > /dev/null 2> "$TMP/err"
# phase 0: 12 red images / 4 = 3 steps per epoch, 2 epochs; the run: 6 + 2 x 9 (finetune) + 27 (joint) = 51 steps
grep -E '^phase 0  phase0 +step 1/6 \( 16%\)  epoch 0\.33/2  loss [0-9.]+  lr 5\.00e-04  [0-9]+ samples/s  ETA [0-9m s]+  run ETA [0-9]+m[0-9]+s$' "$TMP/err" \
  || { echo "no such first progress line:"; cat "$TMP/err"; exit 1; }
grep -qE '^phase 2  joint +step 27/27 \(100%\)  epoch 3\.00/3 .* run ETA 0m00s$' "$TMP/err"
M="$TMP/r/metrics.jsonl"
t='"time": "20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z"'
for type in step eval compute; do
  n=$(grep -c "\"type\": \"$type\"" "$M"); k=$(grep "\"type\": \"$type\"" "$M" | grep -cE "$t")
  [ "$n" -gt 0 ] && [ "$n" -eq "$k" ] || { echo "$type lines: $n, with a time: $k"; exit 1; }
done
grep -qE '"strategy": "phase0", "phase": 0, "step": 3, "steps": 6, "epoch": 1\.0000, .*"logit_scale": 2\.6[0-9]*,' "$M"
[ "$(grep '"type": "step"' "$M" | grep -c '"logit_scale": ')" -eq "$(grep -c '"type": "step"' "$M")" ]
# the timing-free view drops the time
if metrics_sans_timings "$M" | grep -q '"time"'; then echo 'time kept'; exit 1; fi
echo ok
