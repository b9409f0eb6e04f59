# A continual run with the ModifiedResNet image tower (BatchNorm running
# statistics as checkpointed model state): killed with SIGKILL at arbitrary
# steps and resumed, it ends with every checkpoint (parameters and running
# statistics), probe and results file byte-identical to an uninterrupted run.
set -eu
export OMP_WAIT_POLICY=passive
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy-rn-resume \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}]' \
  '["finetune", "modx", "lwf", "wiseft"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "checkpoint_every": 4, "log_every": 1, "eval_batch": 8}' \
  "$PWD/tests/fixtures/engine/rn_micro.json"
"$MODX" run "$D/exp.json" --out "$TMP/a" --quiet --no-report > /dev/null
# the phase checkpoints carry the running statistics, moved by training
"$MODX" inspect "$TMP/a/finetune/phase2/model.safetensors" | grep -q 'visual.layer4.0.bn3.num_batches_tracked'
rc=0; MODX_TEST_KILL_AFTER_STEPS=7 "$MODX" run "$D/exp.json" --out "$TMP/b" --quiet --no-report > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137), got $rc"; exit 1; }
for k in 23 17; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k "$MODX" run --resume "$TMP/b" --quiet --no-report > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps, got $rc"; exit 1; }
done
"$MODX" run --resume "$TMP/b" --quiet --no-report > /dev/null
n=0
for f in $(cd "$TMP/a" && find . -name '*.safetensors' | sort) results.csv results.md; do
  cmp "$TMP/a/$f" "$TMP/b/$f"
  n=$((n + 1))
done
echo "$n files identical"
[ "$n" -ge 10 ]
