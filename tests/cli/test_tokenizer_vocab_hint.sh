# `modx tokenizer train --size N` may learn fewer merges than asked: it prints
# the exact text_cfg.vocab_size the model config needs, and a run whose model
# holds fewer ids is refused before training naming that key and value.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
"$MODX" tokenizer train --corpus "$D/captions.txt" --size 5000 --out "$TMP/bpe.txt" > "$TMP/out"
n=$(sed -nE 's/^model config: set "text_cfg": \{"vocab_size": ([0-9]+)\} \(or more\)$/\1/p' "$TMP/out")
[ -n "$n" ] && [ "$n" -lt 5000 ] && [ "$n" -gt 514 ] || { cat "$TMP/out"; exit 1; }
grep -q "vocabulary size $n " "$TMP/out"
# a model config one id short
python3 - tests/fixtures/engine/micro.json "$TMP/small.json" $((n - 1)) <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["text_cfg"]["vocab_size"] = int(sys.argv[3]); json.dump(c, open(sys.argv[2], "w"))
PY
cp "$TMP/bpe.txt" "$D/bpe.txt"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune"]' '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 4}' "$TMP/small.json"
if "$MODX" run "$D/exp.json" --out "$TMP/r" --quiet 2> "$TMP/err"; then echo "ran with too few ids"; exit 1; fi
grep -q "the tokenizer has $n ids but the model's vocab_size is $((n - 1))" "$TMP/err"
grep -q "\"text_cfg\": {\"vocab_size\": $n} (or more)" "$TMP/err"
[ ! -e "$TMP/r/phase0/model.safetensors" ]
echo ok
