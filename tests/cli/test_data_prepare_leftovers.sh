# A killed cache build leaves "<cache>.tmp.<pid>": the next prepare into that
# folder removes the ones of dead processes (and keeps a live process's), and a
# failed build removes its own temporary file.
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
mkdir -p "$TMP/m"
sh -c 'exit 0' & dead=$!
wait $dead
kill -0 $dead 2>/dev/null && { echo "pid $dead still alive"; exit 1; }
echo junk > "$TMP/m/dataset.cache.tmp.$dead"
echo junk > "$TMP/m/dataset.cache.tmp.$$"     # this shell: alive
echo keep > "$TMP/m/other.cache.tmp.$dead"    # another file's: not ours
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 8 --context 16 --out "$TMP/m" >/dev/null
[ ! -e "$TMP/m/dataset.cache.tmp.$dead" ] || { echo "stale temporary file of dead pid $dead left"; exit 1; }
[ -e "$TMP/m/dataset.cache.tmp.$$" ] || { echo "a live process's temporary file was removed"; exit 1; }
[ -e "$TMP/m/other.cache.tmp.$dead" ]
[ -e "$TMP/m/dataset.cache" ]
# a failed build (an image that does not exist) leaves nothing behind
sed 's#images/blue.png#images/nope.png#' $F/manifest.jsonl > "$TMP/bad.jsonl"
cp -r $F/images "$TMP/images"
if "$MODX" data prepare --format manifest --input "$TMP/bad.jsonl" --vocab $V --size 8 --out "$TMP/b" 2>"$TMP/err"; then exit 1; fi
grep -q "nope.png" "$TMP/err"
[ -z "$(find "$TMP/b" -name '*.tmp*' 2>/dev/null)" ] || { echo "temporary file left by a failed build"; exit 1; }
