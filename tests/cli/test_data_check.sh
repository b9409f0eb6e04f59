# modx data check / info / phases on the committed fixtures: counts, the
# --skip-bad report, a clear error (and exit 1) without it, corrupt caches.
set -eu
F=tests/fixtures/data
out=$("$MODX" data check --format manifest --input $F/manifest.jsonl)
grep -q "images 6, captions 12, domains 3" <<<"$out"
out=$("$MODX" data check --format karpathy --input $F/dataset_coco.json --images /x --split train+restval)
grep -q "images 4, captions 9, domains 1, skipped 0, not in the selected splits 2" <<<"$out"
out=$("$MODX" data check --format coco --input $F/captions_val.json --images /x)
grep -q "images 6, captions 12" <<<"$out"
# bad items: exit 1 naming file:line and what was expected, then --skip-bad lists all four
if "$MODX" data check --format manifest --input $F/manifest_bad.jsonl 2>"$TMP/err"; then exit 1; fi
grep -q "manifest_bad.jsonl:2: captions\[1\]: expected a non-empty caption" "$TMP/err"
out=$("$MODX" data check --format manifest --input $F/manifest_bad.jsonl --skip-bad)
grep -q "skipped 4 item(s):" <<<"$out"
grep -q "manifest_bad.jsonl:3: expected one JSON object per line" <<<"$out"
if "$MODX" data check --format coco --input $F/captions_bad.json --images /x 2>"$TMP/err"; then exit 1; fi
grep -q "captions_bad.json: images\[2\]" "$TMP/err"
if "$MODX" data check --format karpathy --input $F/malformed.json --images /x 2>"$TMP/err"; then exit 1; fi
grep -q "malformed.json:1:37: expected a JSON document" "$TMP/err"
if "$MODX" data check --format karpathy --input $F/missing.json --images /x 2>"$TMP/err"; then exit 1; fi
grep -q "missing.json: cannot open" "$TMP/err"
# usage errors exit 2
set +e
"$MODX" data check --format tsv --input x 2>/dev/null; [ $? -eq 2 ] || exit 1
"$MODX" data frobnicate 2>/dev/null; [ $? -eq 2 ] || exit 1
set -e
"$MODX" data check --help | grep -q -- "--skip-bad"
# caches: a good one, then corrupt ones
S=tests/fuzz/seeds/fuzz_cache
"$MODX" data info $S/good.cache | grep -q "images 2, captions 3, domains 2, image size 3, context 5"
for bad in truncated bad_magic bad_crc count_overflow header_only; do
  if "$MODX" data info $S/$bad.cache 2>"$TMP/err"; then echo "$bad accepted"; exit 1; fi
  grep -q "$bad.cache" "$TMP/err"
done
"$MODX" data phases $S/good.cache --mode domain --split all | grep -q "^google .*1 images"
if "$MODX" data phases $S/good.cache --mode contiguous --phases 3 --split all 2>"$TMP/err"; then exit 1; fi
grep -q "3 phases asked for 2 images" "$TMP/err"
