# The training commands refuse a model whose training memory (weights,
# gradients, AdamW moments, activations for the batch) exceeds the budget
# (--max-memory, default the available memory) before allocating it, naming
# the config, the estimate and the budget.
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 224 --context 77 --out "$TMP/m" >/dev/null
cat > "$TMP/huge.json" <<'JSON'
{"embed_dim": 65536, "quick_gelu": true,
 "vision_cfg": {"image_size": 224, "layers": 64, "width": 65536, "patch_size": 14, "head_width": 64},
 "text_cfg": {"context_length": 77, "vocab_size": 65536, "width": 65536, "heads": 64, "layers": 64}}
JSON
# default budget: the machine's available memory (a model of ~26 TB never fits)
rc=0; timeout 60 "$MODX" train --data "$TMP/m/dataset.cache" --config "$TMP/huge.json" --out "$TMP/t" 2>"$TMP/err" || rc=$?
cat "$TMP/err"
[ "$rc" -eq 1 ]
grep -q "huge.json" "$TMP/err"
grep -q "GiB" "$TMP/err"
grep -q "memory budget" "$TMP/err"
[ ! -e "$TMP/t/model.safetensors" ]
rc=0; "$MODX" train --data "$TMP/m/dataset.cache" --config configs/micro.json --out "$TMP/t" --max-memory 1K 2>/dev/null || rc=$?
[ "$rc" -eq 1 ]
rc=0; "$MODX" train --data "$TMP/m/dataset.cache" --config configs/micro.json --out "$TMP/t" --max-memory 12Q 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ]
grep -q -- "--max-memory" "$TMP/err"
# modx run / continual: the experiment's model at its train.batch
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy-mem \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}]' '["finetune"]' \
  '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 8}'
rc=0; "$MODX" run "$D/exp.json" --out "$TMP/r" --quiet --max-memory 64K 2>"$TMP/err" || rc=$?
cat "$TMP/err"
[ "$rc" -eq 1 ]
grep -q "micro.json" "$TMP/err"
grep -q "batch 8" "$TMP/err"
grep -q "memory budget" "$TMP/err"
rc=0; "$MODX" continual "$D/exp.json" --strategy finetune --out "$TMP/c" --quiet --max-memory 64K 2>"$TMP/err" || rc=$?
[ "$rc" -eq 1 ]
grep -q "memory budget" "$TMP/err"
"$MODX" run "$D/exp.json" --out "$TMP/r2" --quiet --no-report --max-memory 1G > /dev/null
