# modx convert between OpenCLIP and Hugging Face names (default --to: the other
# naming; --hf-config writes a transformers config.json), its refusals, and an
# HF-named checkpoint as a run's phase 0 and as `train --init`: the same model
# under either naming trains to the same metrics.
set -eu
export OMP_WAIT_POLICY=passive
F=tests/fixtures
. $F/engine/toy_common.sh   # metrics_sans_timings
# an HF hub folder (config from the shapes + config.json) -> OpenCLIP -> HF
"$MODX" convert $F/hf_micro/model.safetensors "$TMP/oc.safetensors" > "$TMP/out"
grep -q "^wrote $TMP/oc.safetensors (openclip names) from $F/hf_micro/model.safetensors (hf names)$" "$TMP/out"
"$MODX" inspect "$TMP/oc.safetensors" > "$TMP/oc.txt"
grep -q "^visual.transformer.resblocks.1.attn.in_proj_weight  *F32  *\[96, 32\]" "$TMP/oc.txt"
grep -q "^visual.proj  *F32  *\[32, 16\]" "$TMP/oc.txt"
if grep -q "vision_model\|position_ids" "$TMP/oc.txt"; then exit 1; fi
"$MODX" convert "$TMP/oc.safetensors" "$TMP/hf.safetensors" --hf-config "$TMP/config.json" | grep -q "(hf names) from"
"$MODX" inspect "$TMP/hf.safetensors" > "$TMP/hf.txt"
grep -q "^vision_model.encoder.layers.1.self_attn.v_proj.weight  *F32  *\[32, 32\]" "$TMP/hf.txt"
grep -q "^visual_projection.weight  *F32  *\[16, 32\]" "$TMP/hf.txt"
grep -q "^  format: pt$" "$TMP/hf.txt"
# the written config.json describes the fixture's tensors: loading them with it gives the same model config
"$MODX" convert $F/hf_micro/model.safetensors "$TMP/oc2.safetensors" --config "$TMP/config.json" > /dev/null
"$MODX" inspect "$TMP/oc.safetensors" > "$TMP/a"; "$MODX" inspect "$TMP/oc2.safetensors" > "$TMP/b"
cmp <(sed 1d "$TMP/a") <(sed 1d "$TMP/b")
# --to openclip on an OpenCLIP file rewrites it in the same naming
"$MODX" convert "$TMP/oc.safetensors" "$TMP/same.safetensors" --to openclip | grep -q "(openclip names) from .*(openclip names)"
# refusals: an unknown naming, the same path twice, an RN model to HF, a file without a config
if "$MODX" convert "$TMP/oc.safetensors" "$TMP/x.safetensors" --to timm 2> "$TMP/err"; then exit 1; fi
grep -q "'timm': expected openclip or hf" "$TMP/err"
if "$MODX" convert "$TMP/oc.safetensors" "$TMP/oc.safetensors" 2> "$TMP/err"; then exit 1; fi
grep -q "same file" "$TMP/err"
if "$MODX" convert $F/rn_tiny_ckpt.safetensors "$TMP/rn.safetensors" --config $F/rn_tiny.json 2> "$TMP/err"; then exit 1; fi
grep -q "ModifiedResNet" "$TMP/err"
[ ! -e "$TMP/rn.safetensors" ] && [ ! -e "$TMP/rn.safetensors.tmp" ]
if "$MODX" convert $F/clip_gelu_ckpt.safetensors "$TMP/g.safetensors" 2> "$TMP/err"; then exit 1; fi
grep -q "clip_gelu_ckpt.safetensors: no 'modx.config' metadata; pass the model config with --config" "$TMP/err"

# the toy stream from one initial model, given as phase 0 in OpenCLIP and in HF names
D="$TMP/toy"
bash $F/engine/make_toy.sh "$MODX" "$D"
"$MODX" init --config $F/engine/micro.json --seed 3 --out "$D/init.safetensors" > /dev/null
"$MODX" convert "$D/init.safetensors" "$D/init_hf.safetensors" > /dev/null
tests='[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"], "role": "heldout"},
        {"name": "green", "dataset": "toy", "split": "test", "domains": ["green"]}]'
# the same files without any metadata (as OpenCLIP hub files, and HF files with no config.json beside):
# phase 0 then takes the experiment's model config
strip_meta() { python3 - "$1" "$2" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n]); head.pop("__metadata__", None)
text = json.dumps(head).encode(); text += b" " * (-len(text) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
}
strip_meta "$D/init.safetensors" "$D/bare_oc.safetensors"
strip_meta "$D/init_hf.safetensors" "$D/bare_hf.safetensors"
if "$MODX" inspect "$D/bare_oc.safetensors" | grep -q "modx.config"; then exit 1; fi
for n in oc hf bare_oc bare_hf; do
  ck="$D/init.safetensors"; [ $n = hf ] && ck="$D/init_hf.safetensors"; [ ${n#bare} != $n ] && ck="$D/$n.safetensors"
  bash $F/engine/toy_experiment.sh "$D/$n.json" "toy-$n" "$tests" '["finetune"]' '{"test_set": "red", "pairs": 4}' \
    '{"epochs": 1, "batch": 4}'
  sed -i "s|\"phase0\": {[^}]*}|\"phase0\": {\"checkpoint\": \"$ck\"}|" "$D/$n.json"
  grep -q "\"checkpoint\": \"$ck\"" "$D/$n.json"
  "$MODX" run "$D/$n.json" --out "$TMP/run_$n" --quiet --no-report > /dev/null
done
for n in hf bare_oc bare_hf; do
  cmp <(metrics_sans_timings "$TMP/run_oc/metrics.jsonl" | sed 's/toy-oc//g') \
      <(metrics_sans_timings "$TMP/run_$n/metrics.jsonl" | sed "s/toy-$n//g")
done
grep -q '"strategy": "finetune", "phase": 2' "$TMP/run_hf/metrics.jsonl"
[ "$(grep -c "\"type\": \"eval\"" "$TMP/run_bare_hf/metrics.jsonl")" -ge 4 ]
# train --init takes the HF file too
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 16 --context 8 \
  --out "$D/cache" > /dev/null
for n in oc hf; do
  ck="$D/init.safetensors"; [ $n = hf ] && ck="$D/init_hf.safetensors"
  "$MODX" train --data "$D/cache" --init "$ck" --out "$TMP/train_$n" --batch 4 --quiet > /dev/null
done
cmp "$TMP/train_oc/model.safetensors" "$TMP/train_hf/model.safetensors"
echo ok
