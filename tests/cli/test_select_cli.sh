# modx eval / train select images through data/selection.h: a domain list picks
# those domains' images of the split; an unknown domain lists the domains; an
# empty selection names the split searched and the splits and domains present.
set -eu
bash tests/fixtures/engine/make_toy.sh "$MODX" "$TMP/toy" > /dev/null
"$MODX" data prepare --format manifest --input "$TMP/toy/manifest.jsonl" --vocab "$TMP/toy/bpe.txt" --size 16 \
  --context 8 --out "$TMP/c" > /dev/null 2>&1
"$MODX" init --config tests/fixtures/engine/micro.json --seed 0 --out "$TMP/m.safetensors" > /dev/null
ev() { "$MODX" eval --ckpt "$TMP/m.safetensors" --data "$TMP/c/dataset.cache" "$@"; }
ev --split test --domains red,blue | grep -q "^8 images, 16 captions"
ev | grep -q "^12 images, 24 captions"
if ev --domains purple 2> "$TMP/err"; then exit 1; fi
grep -q "unknown domain 'purple' (the dataset has: red, green, blue)" "$TMP/err"
if ev --split val --domains red 2> "$TMP/err"; then exit 1; fi
grep -q "no image in split val and domains red (the dataset has splits: train=36 test=12; domains: red, green, blue)" "$TMP/err"
if "$MODX" train --data "$TMP/c/dataset.cache" --config tests/fixtures/engine/micro.json --out "$TMP/t" --split restval \
  --quiet 2> "$TMP/err"; then exit 1; fi
grep -q "no image in split restval (the dataset has splits: train=36 test=12" "$TMP/err"
echo "selections ok"
