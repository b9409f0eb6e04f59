# modx data prepare on every fixture format, --skip-bad with an unreadable image,
# byte-identical re-runs, and (when the npm packages are installed) modx data emoji.
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 8 --context 16 --out "$TMP/m" >"$TMP/out"
grep -q "6 images, 12 captions, 3 domains, 8 px, context 16" "$TMP/out"
"$MODX" data info "$TMP/m/dataset.cache" | grep -q "images 6, captions 12, domains 3, image size 8, context 16, vocab size 49408"
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 8 --context 16 --out "$TMP/m2" >/dev/null
cmp "$TMP/m/dataset.cache" "$TMP/m2/dataset.cache"
"$MODX" data prepare --format karpathy --input $F/dataset_coco.json --images $F/images --split train+restval \
  --vocab $V --size 8 --out "$TMP/k" | grep -q "4 images, 9 captions"
"$MODX" data prepare --format coco --input $F/captions_val.json --images $F/images --vocab $V --size 4 --out "$TMP/c" \
  | grep -q "6 images, 12 captions"
# an image that does not exist: error without --skip-bad, listed with it
sed 's#images/blue.png#images/nope.png#' $F/manifest.jsonl > "$TMP/bad.jsonl"
cp -r $F/images "$TMP/images"
if "$MODX" data prepare --format manifest --input "$TMP/bad.jsonl" --vocab $V --size 8 --out "$TMP/b" 2>"$TMP/err"; then exit 1; fi
grep -q "nope.png" "$TMP/err"
[ ! -e "$TMP/b/dataset.cache" ]
"$MODX" data prepare --format manifest --input "$TMP/bad.jsonl" --vocab $V --size 8 --skip-bad --out "$TMP/b" >"$TMP/out"
grep -q "5 images, 11 captions" "$TMP/out"
grep -q "skipped 1 item" "$TMP/out"
if [ -d third_party/npm/node_modules/emojibase-data ]; then
  "$MODX" data emoji --npm third_party/npm --vocab $V --size 16 --context 32 --out "$TMP/e" >"$TMP/e.txt"
  cat "$TMP/e.txt"
  for v in apple google twitter facebook; do
    items=$(grep -E "^  $v " "$TMP/e.txt" | sed -E 's#.*train [0-9]+ images / ([0-9]+) captions, test [0-9]+ images / ([0-9]+) captions.*#\1 \2#' | awk '{print $1+$2}')
    [ "$items" -ge 3500 ] || { echo "$v: only $items items"; exit 1; }
  done
  "$MODX" data emoji --npm third_party/npm --vocab $V --size 16 --context 32 --out "$TMP/e2" >/dev/null
  cmp "$TMP/e/dataset.cache" "$TMP/e2/dataset.cache"
  cmp "$TMP/e/captions.txt" "$TMP/e2/captions.txt"
else
  echo "the emoji data packages are missing: run scripts/setup.sh test (make test does)"; exit 1
fi
