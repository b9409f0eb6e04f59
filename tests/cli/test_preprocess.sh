# modx preprocess writes the normalised 3xSxS float32 tensor "pixels"; its bytes
# equal the float32 reference of tools/gen_image_ref.py; bad images fail with the
# file named; bad options give exit 2.
set -eu
fx=tests/fixtures/images
out="$TMP/pre.safetensors"
"$MODX" preprocess --help | grep -q 'usage: modx preprocess'
"$MODX" preprocess "$fx/png_rgba.png" --size 16 --out "$out"
[ -s "$out" ]

# header: 8-byte little-endian length N, then N bytes of JSON, then the data
n=$(head -c 8 "$out" | od -An -tu8 | tr -d ' ')
json=$(tail -c +9 "$out" | head -c "$n" | tr -d ' \n')
echo "$json" | grep -q '"pixels":{[^}]*"dtype":"F32"' || { echo "no F32 pixels in $json"; exit 1; }
echo "$json" | grep -q '"pixels":{[^}]*"shape":\[3,16,16\]' || { echo "bad shape in $json"; exit 1; }
size=$(stat -c %s "$out")
[ "$size" -eq $((8 + n + 3 * 16 * 16 * 4)) ] || { echo "file is $size bytes, expected $((8 + n + 3072))"; exit 1; }
# the tensor is bit-identical to the float32 ToTensor+Normalize reference
tail -c 3072 "$out" | cmp - "$fx/png_rgba_s16.f32"
# and the project's own reader agrees on name, dtype and shape
"$MODX" inspect "$out" | grep -Eq '^pixels +F32 +\[3, 16, 16\]' || { "$MODX" inspect "$out"; exit 1; }

# another background changes the transparent pixels
"$MODX" preprocess "$fx/png_rgba.png" --size 16 --out "$TMP/bg.safetensors" --background 30,120,200
! cmp -s <(tail -c 3072 "$TMP/bg.safetensors") "$fx/png_rgba_s16.f32"

# a truncated JPEG fails, naming the file, and writes nothing
head -c 1000 "$fx/jpeg_rgb_wide.jpg" > "$TMP/cut.jpg"
set +e
"$MODX" preprocess "$TMP/cut.jpg" --size 16 --out "$TMP/cut.safetensors" 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -ne 0 ] || { echo "truncated JPEG accepted"; exit 1; }
grep -q "$TMP/cut.jpg" "$TMP/err" || { echo "error does not name the file:"; cat "$TMP/err"; exit 1; }
grep -q truncated "$TMP/err"
[ ! -e "$TMP/cut.safetensors" ]

# option errors: exit 2
for args in "--size 16" "$fx/png_la.png --size 0 --out $TMP/x.safetensors" \
            "$fx/png_la.png --size 16 --out $TMP/x.safetensors --background 1,2" \
            "$fx/png_la.png --size 16 --out $TMP/x.safetensors --background 1,2,300"; do
  set +e
  # shellcheck disable=SC2086
  "$MODX" preprocess $args 2>/dev/null; rc=$?
  set -e
  [ "$rc" -eq 2 ] || { echo "'$args' gave exit $rc, expected 2"; exit 1; }
done
echo "preprocess CLI ok"
