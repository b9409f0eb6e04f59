# modx zeroshot on a micro model and the 6-image fixture cache: domain labels and
# the same labels given as a JSON Lines file agree (with a classes file and two
# templates, too); bad labels, classes and templates are errors naming the item.
set -eu
source tests/cli/fake_run.sh
fake_run "$TMP/run" "$TMP/work"
C="$TMP/work/data/dataset.cache"
V=data/bpe_simple_vocab_16e6.txt.gz
ck="$TMP/run/phase0/model.safetensors"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels domain --split all | tee "$TMP/a"
grep -qE '^zero-shot: 6 images, 3 classes, 1 template: top-1 [0-9.]+%  top-5 100\.00%$' "$TMP/a"
# the fixture's domains by image: red green blue red green blue
for i in 0 1 2 3 4 5; do
  d=$(echo "red green blue red green blue" | cut -d' ' -f$((i + 1)))
  echo "{\"image\": $i, \"label\": \"$d\"}"
done >"$TMP/labels.jsonl"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/labels.jsonl" >"$TMP/b"
diff "$TMP/a" "$TMP/b"
# the same labels keyed by the image's path (as data info --list prints it; its
# file name alone is enough when no other image's path ends so)
"$MODX" data info "$C" --list | awk -F'\t' '$1 ~ /^[0-9]+$/ {print $2}' > "$TMP/paths"
[ "$(wc -l < "$TMP/paths")" -eq 6 ]
i=0
while read -r p; do
  d=$(echo "red green blue red green blue" | cut -d' ' -f$((i + 1)))
  echo "{\"image\": \"$p\", \"label\": \"$d\"}"; i=$((i + 1))
done < "$TMP/paths" > "$TMP/labels_by_path.jsonl"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/labels_by_path.jsonl" >"$TMP/b2"
diff "$TMP/a" "$TMP/b2"
printf 'red\ngreen\n\nblue\n' >"$TMP/classes.txt"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/labels.jsonl" --classes "$TMP/classes.txt" >"$TMP/c"
diff "$TMP/a" "$TMP/c"
printf 'a photo of a {}.\na drawing of a {} thing\n' >"$TMP/templates.txt"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels domain --split all --templates "$TMP/templates.txt" \
  | grep -q '^zero-shot: 6 images, 3 classes, 2 templates: '
# with more than 5 classes top-5 is no longer certain, and every class counts
printf 'red\ngreen\nblue\ncat\ndog\nbird\ntree\n' >"$TMP/seven.txt"
"$MODX" zeroshot --ckpt "$ck" --data "$C" --vocab $V --labels domain --split all --classes "$TMP/seven.txt" \
  | grep -q '^zero-shot: 6 images, 7 classes, 1 template: '

expect_fail() { # RC PATTERN ARGS...
  local want=$1 pat=$2; shift 2
  set +e
  "$MODX" zeroshot "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  set -e
  [ "$rc" -eq "$want" ] || { echo "modx zeroshot $*: exit $rc, want $want"; cat "$TMP/err"; exit 1; }
  grep -q -- "$pat" "$TMP/err" || { echo "stderr lacks '$pat':"; cat "$TMP/err"; exit 1; }
}
expect_fail 2 'missing required option --vocab' --ckpt "$ck" --data "$C"
expect_fail 2 '--split goes with --labels domain' --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/labels.jsonl" --split all
printf 'red\ngreen\n' >"$TMP/two.txt"
expect_fail 1 'image 2 has label "blue", which is not in' --ckpt "$ck" --data "$C" --vocab $V --labels domain --split all --classes "$TMP/two.txt"
echo '{"image": 6, "label": "red"}' >"$TMP/bad.jsonl"
expect_fail 1 'bad.jsonl:1: image 6 is not an image index of the cache (0 to 5)' --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/bad.jsonl"
printf '{"image": 1, "label": "red"}\n{"image": "x"}\n' >"$TMP/bad.jsonl"
expect_fail 1 'bad.jsonl:2: expected {"image": INDEX or "PATH", "label": "name"}' --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/bad.jsonl"
echo '{"image": "no/such.png", "label": "red"}' > "$TMP/nopath.jsonl"
expect_fail 1 'nopath.jsonl:1: image "no/such.png": no image of the cache has this path' --ckpt "$ck" --data "$C" --vocab $V --labels "$TMP/nopath.jsonl"
printf 'a photo of a thing\n' >"$TMP/t.txt"
expect_fail 1 'template 1 ("a photo of a thing") has no {}' --ckpt "$ck" --data "$C" --vocab $V --labels domain --templates "$TMP/t.txt"
# the micro model's own 64-token vocabulary cannot take the CLIP tokenizer
"$MODX" init --config configs/micro.json --seed 1 --out "$TMP/small.safetensors" >/dev/null
expect_fail 1 'images are 16 px\|vocabulary holds 64' --ckpt "$TMP/small.safetensors" --data "$C" --vocab $V --labels domain --split all
echo "zeroshot ok"
