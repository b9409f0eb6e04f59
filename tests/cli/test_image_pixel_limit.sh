# --max-image-pixels: the images' pixel limit on the commands that decode them,
# checked from each header; out-of-range values are usage errors.
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
IMG=tests/fixtures/images/png_rgb_odd.png
"$MODX" preprocess $IMG --size 8 --out "$TMP/p.safetensors"
if "$MODX" preprocess $IMG --size 8 --out "$TMP/q.safetensors" --max-image-pixels 10 2>"$TMP/err"; then exit 1; fi
grep -q "png_rgb_odd.png" "$TMP/err"
grep -q "exceeds the limit of 10 pixels" "$TMP/err"
rc=0; "$MODX" preprocess $IMG --size 8 --out "$TMP/q.safetensors" --max-image-pixels 0 2>/dev/null || rc=$?
[ "$rc" -eq 2 ]
rc=0; "$MODX" preprocess $IMG --size 8 --out "$TMP/q.safetensors" --max-image-pixels 268435457 2>/dev/null || rc=$?
[ "$rc" -eq 2 ]
"$MODX" data prepare --help | grep -q -- "--max-image-pixels"
if "$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 8 --context 16 \
     --max-image-pixels 10 --out "$TMP/m" 2>"$TMP/err"; then exit 1; fi
grep -q "exceeds the limit of 10 pixels" "$TMP/err"
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 8 --context 16 \
  --max-image-pixels 268435456 --out "$TMP/m" | grep -q "6 images"
