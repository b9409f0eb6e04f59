# --precision / train.precision: bf16 training runs end to end (modx train and
# modx run), is recorded in the run's experiment.json, trains a different model
# than fp32 (its products ran in bf16) and is itself deterministic; a wrong
# value is refused naming the option or key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy-bf16 \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}]' '["finetune", "modx"]' \
  '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 4, "lr": 1e-3, "eval_batch": 8}'
"$MODX" run "$D/exp.json" --out "$TMP/f32" --quiet --no-report > /dev/null
"$MODX" run "$D/exp.json" --out "$TMP/b1" --precision bf16 --quiet --no-report > /dev/null
"$MODX" run "$D/exp.json" --out "$TMP/b2" --precision bf16 --quiet --no-report > /dev/null
grep -q '"precision":.*"bf16"' "$TMP/b1/experiment.json"
if grep -q '"precision"' "$TMP/f32/experiment.json"; then echo "fp32 recorded as a precision key"; exit 1; fi
for f in phase0/model.safetensors finetune/phase2/model.safetensors modx/phase2/model.safetensors results.csv; do
  cmp "$TMP/b1/$f" "$TMP/b2/$f"
done
if cmp -s "$TMP/f32/modx/phase2/model.safetensors" "$TMP/b1/modx/phase2/model.safetensors"; then
  echo "bf16 trained the same model as fp32"; exit 1
fi
# the experiment key, and a resumed bf16 run keeps it (--precision is refused with --resume)
sed 's/"eval_batch": 8}/"eval_batch": 8, "precision": "bf16"}/' "$D/exp.json" > "$D/exp16.json"
"$MODX" run "$D/exp16.json" --out "$TMP/b3" --quiet --no-report > /dev/null
cmp "$TMP/b1/modx/phase2/model.safetensors" "$TMP/b3/modx/phase2/model.safetensors"
rc=0; "$MODX" run --resume "$TMP/b3" --precision fp32 --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ]
sed 's/"eval_batch": 8}/"eval_batch": 8, "precision": "fp16"}/' "$D/exp.json" > "$D/bad.json"
rc=0; "$MODX" run "$D/bad.json" --out "$TMP/bad" --quiet 2> "$TMP/err" || rc=$?
[ "$rc" -ne 0 ]
grep -q "train.precision" "$TMP/err" && grep -q '"fp16"' "$TMP/err"
rc=0; "$MODX" run "$D/exp.json" --out "$TMP/bad2" --precision fp16 --quiet 2> "$TMP/err" || rc=$?
[ "$rc" -eq 2 ]
grep -q -- "--precision expects fp32 or bf16" "$TMP/err"
# modx train --precision bf16
for p in fp32 bf16; do
  "$MODX" train --data "$TMP/f32/data/toy.cache" --config tests/fixtures/engine/micro.json --out "$TMP/t$p" --batch 4 \
    --precision $p --quiet > /dev/null
done
if cmp -s "$TMP/tfp32/model.safetensors" "$TMP/tbf16/model.safetensors"; then echo "modx train: bf16 = fp32"; exit 1; fi
