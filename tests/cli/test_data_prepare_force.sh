# `modx data prepare` creates its output folder with its parents, refuses to
# replace an existing cache without --force (the earlier cache untouched), and
# the folder it wrote is accepted wherever a cache file is expected.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
OUT="$TMP/caches/deep/mine"
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 16 --context 16 \
  --out "$OUT" > /dev/null
[ -f "$OUT/dataset.cache" ]
cp "$OUT/dataset.cache" "$TMP/first.cache"
if "$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 32 --context 16 \
  --out "$OUT" > /dev/null 2> "$TMP/err"; then echo "replaced a cache without --force"; exit 1; fi
grep -q "already holds a prepared cache" "$TMP/err" && grep -q -- "--force" "$TMP/err"
cmp "$TMP/first.cache" "$OUT/dataset.cache"
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 32 --context 16 \
  --out "$OUT" --force > /dev/null
! cmp -s "$TMP/first.cache" "$OUT/dataset.cache"
# the folder where a cache is expected
"$MODX" data info "$OUT" | grep -q "32"
"$MODX" data info "$OUT/dataset.cache" | tail -n +2 > "$TMP/a"; "$MODX" data info "$OUT" | tail -n +2 > "$TMP/b"; cmp "$TMP/a" "$TMP/b"
# an experiment's "cache" may name the folder too
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 16 --context 8 \
  --out "$TMP/c16" > /dev/null
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune"]' '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 4}'
sed -i "s|\"datasets\": {\"toy\": {\"format\": \"manifest\", \"input\": \"manifest.jsonl\"}}|\"datasets\": {\"toy\": {\"cache\": \"$TMP/c16\"}}|" "$D/exp.json"
grep -q "\"cache\": \"$TMP/c16\"" "$D/exp.json"
"$MODX" run "$D/exp.json" --out "$TMP/run" --quiet --no-report > /dev/null
grep -q "\"cache\":.*c16/dataset.cache" "$TMP/run/experiment.json"
echo ok
