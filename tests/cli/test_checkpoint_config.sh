# A checkpoint without modx.config metadata (an OpenCLIP state dict) is usable
# everywhere: a run's phase0.checkpoint takes the experiment's "model", and
# --config serves every command that loads a checkpoint (train --init, eval,
# probe, analyze --ckpt, zeroshot). An optimizer-state or probe file given
# where a model is expected is named as what it is.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"; CFG=tests/fixtures/engine/micro.json
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 16 --context 8 \
  --out "$TMP/cache" > /dev/null
"$MODX" init --config "$CFG" --seed 3 --out "$TMP/meta.safetensors" > /dev/null
# the same tensors without the metadata
python3 - "$TMP/meta.safetensors" "$D/bare.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
j = json.dumps(h).encode(); j += b' ' * (-len(j) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(j)) + j + b[8 + n:])
PY
B="$D/bare.safetensors"
if "$MODX" eval --ckpt "$B" --data "$TMP/cache" 2> "$TMP/e"; then exit 1; fi
grep -q "no 'modx.config' metadata" "$TMP/e"
"$MODX" eval --ckpt "$B" --config "$CFG" --data "$TMP/cache" | grep -q "^rsum"
"$MODX" probe --ckpt "$B" --config "$CFG" --data "$TMP/cache" --out "$TMP/p.safetensors" > /dev/null
"$MODX" analyze --ckpt "$B" "$TMP/meta.safetensors" --config "$CFG" --data "$TMP/cache" | grep -q rotation
"$MODX" zeroshot --ckpt "$B" --config "$CFG" --data "$TMP/cache" --vocab "$D/bpe.txt" --labels domain | grep -q top-1
"$MODX" train --init "$B" --config "$CFG" --data "$TMP/cache" --batch 4 --out "$TMP/t" --quiet > /dev/null
[ -f "$TMP/t/model.safetensors" ]
# optimizer state and probe features are not models
for f in "$TMP/t/model.optim.safetensors:optimizer-state file" "$TMP/p.safetensors:probe features file"; do
  if "$MODX" eval --ckpt "${f%%:*}" --data "$TMP/cache" 2> "$TMP/e"; then exit 1; fi
  grep -q "${f#*:}" "$TMP/e" || { cat "$TMP/e"; exit 1; }
done
# a run starting from the bare checkpoint: the experiment's model is its config
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" bare \
  '[{"name": "green", "dataset": "toy", "split": "test", "domains": ["green"]}]' '["finetune"]' \
  '{"test_set": "green", "pairs": 4}' '{"epochs": 1, "batch": 4, "eval_batch": 8}' "$PWD/$CFG"
sed -i 's|"phase0": {[^}]*}|"phase0": {"checkpoint": "bare.safetensors"}|' "$D/exp.json"
"$MODX" run "$D/exp.json" --out "$TMP/r" --quiet --no-report > /dev/null
grep -q '"status":	"done"' "$TMP/r/run.json"
echo ok
