# Manifests without "split": `data prepare --test-fraction F --seed N` puts a
# seeded fraction of the images (or of the "group"s, whose images never
# straddle train and test) in test; `data info --list` prints index, path,
# split and domain per image; an empty selection names the splits searched
# and present.
set -eu
IMG=$(cd tests/fixtures/data/images && pwd)
V="$TMP/bpe.txt"
: > "$TMP/m.jsonl"; : > "$TMP/caps.txt"
for k in $(seq 0 23); do
  p=$(( k % 2 )); [ $p -eq 0 ] && f=red || f=blue
  # images 0..15 in 8 groups of two; 16..23 without a group
  g=""; [ $k -lt 16 ] && g=", \"group\": \"g$((k / 2))\""
  echo "{\"image\": \"$IMG/$f.png\", \"captions\": [\"a $f thing $k\"], \"domain\": \"d$((k % 3))\"$g}" >> "$TMP/m.jsonl"
  echo "a $f thing $k" >> "$TMP/caps.txt"
done
"$MODX" tokenizer train --corpus "$TMP/caps.txt" --size 600 --out "$V" > /dev/null
prep() { "$MODX" data prepare --format manifest --input "$TMP/m.jsonl" --vocab "$V" --size 16 --context 8 "$@" > /dev/null; }
prep --out "$TMP/none"
"$MODX" data info "$TMP/none" --list > "$TMP/l0"
[ "$(awk -F'\t' '$3 == "none"' "$TMP/l0" | wc -l)" -eq 24 ]
prep --test-fraction 0.25 --seed 1 --out "$TMP/a"
prep --test-fraction 0.25 --seed 1 --out "$TMP/b"
prep --test-fraction 0.25 --seed 2 --out "$TMP/c"
cmp "$TMP/a/dataset.cache" "$TMP/b/dataset.cache"
"$MODX" data info "$TMP/a" --list > "$TMP/la"
"$MODX" data info "$TMP/c" --list > "$TMP/lc"
grep -q "^index	path	split	domain$" "$TMP/la"
# index, the image's path as the manifest gave it, its split, its domain
grep -q "^3	$IMG/blue.png	\(train\|test\)	d0$" "$TMP/la"
# 16 units (8 groups + 8 single images): 4 of them in test
n_test=$(awk -F'\t' '$3 == "test"' "$TMP/la" | wc -l)
[ "$n_test" -ge 4 ] && [ "$n_test" -le 8 ] || { echo "test images: $n_test"; exit 1; }
[ "$(awk -F'\t' '$1 ~ /^[0-9]+$/ && $3 != "train" && $3 != "test"' "$TMP/la" | wc -l)" -eq 0 ]
# the two images of a group share their split
for g in $(seq 0 7); do
  s1=$(awk -F'\t' -v i=$((2 * g)) '$1 == i {print $3}' "$TMP/la")
  s2=$(awk -F'\t' -v i=$((2 * g + 1)) '$1 == i {print $3}' "$TMP/la")
  [ "$s1" = "$s2" ] || { echo "group g$g straddles: $s1 / $s2"; exit 1; }
done
if cmp -s "$TMP/la" "$TMP/lc"; then echo "seeds 1 and 2 gave the same split"; exit 1; fi
if prep --test-fraction 1.5 --out "$TMP/x" 2> "$TMP/e"; then exit 1; fi
grep -q "expects a number in (0, 1)" "$TMP/e"
# a bad "group" is named
echo "{\"image\": \"$IMG/red.png\", \"captions\": [\"x\"], \"group\": [1]}" > "$TMP/bad.jsonl"
if "$MODX" data prepare --format manifest --input "$TMP/bad.jsonl" --vocab "$V" --size 16 --out "$TMP/y" 2> "$TMP/e"; then exit 1; fi
grep -q 'bad.jsonl:1: "group": expected a non-empty string or a number' "$TMP/e"
# an empty selection names the splits searched and those present
if "$MODX" train --data "$TMP/none" --config tests/fixtures/engine/micro.json --batch 2 --out "$TMP/t" --quiet 2> "$TMP/e"; then exit 1; fi
grep -q "train" "$TMP/e" && grep -q "none" "$TMP/e" || { cat "$TMP/e"; exit 1; }
echo ok
