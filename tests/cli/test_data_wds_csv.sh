# webdataset shards and CSV files made from the same images and captions as a
# manifest (tools/make_wds_csv_fixtures.py) prepare to byte-identical caches:
# brace patterns, several --input, '::' lists, .txt and .json captions, TSV and
# fully quoted CSV (captions with separators, quotes and newlines), rows of one
# image spread over the file. Plus --wds-domain shard and --skip-bad accounting.
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
S="$TMP/src"
mkdir -p "$S"
cp -r $F/images "$S/images"
# the fixture manifest, with captions that need RFC 4180 quoting
python3 - "$F/manifest.jsonl" "$S/manifest.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w", encoding="utf-8")
for i, line in enumerate(l for l in open(sys.argv[1], encoding="utf-8") if l.strip()):
    it = json.loads(line)
    if i == 1: it["captions"].append('a "quoted", comma\tand tab')
    if i == 3: it["captions"].append("two\nlines, \"and\" more")
    out.write(json.dumps(it, ensure_ascii=False) + "\n")
PY
python3 tools/make_wds_csv_fixtures.py "$TMP/fx" "$S/manifest.jsonl"
prep() { out=$1; shift; "$MODX" data prepare "$@" --vocab $V --size 8 --context 16 --out "$TMP/$out" > "$TMP/$out.txt" 2> "$TMP/$out.err"; }
prep m --format manifest --input "$S/manifest.jsonl"
grep -q "6 images, 14 captions, 3 domains" "$TMP/m.txt"
prep w1 --format wds --input "$TMP/fx/wds/part-{0..1}.tar"
prep w2 --format wds --input "$TMP/fx/wds/part-0.tar" --input "$TMP/fx/wds/part-1.tar"
prep w3 --format wds --input "$TMP/fx/wds/part-0.tar::$TMP/fx/wds/part-{1,1}.tar" --split train+val+test+restval
prep c1 --format csv --input "$TMP/fx/data.tsv" --images "$S"
prep c2 --format csv --input "$TMP/fx/data_quoted.csv" --csv-separator , --images "$S"
for c in w1 w2 c1 c2; do cmp "$TMP/m/dataset.cache" "$TMP/$c/dataset.cache"; done
grep -q "decoded 6/6 images (100%) .* images/s" "$TMP/w1.err"   # the progress line
# '{1,1}' reads part-1 twice: 3 more images than the manifest
grep -q "9 images" "$TMP/w3.txt"
# the CSV's own folder is the default image root
cp "$TMP/fx/data.tsv" "$S/data.tsv"
prep c3 --format csv --input "$S/data.tsv"
cmp "$TMP/m/dataset.cache" "$TMP/c3/dataset.cache"
# custom column names
sed '1s/filepath/img/; 1s/title/text/' "$S/data.tsv" > "$S/renamed.tsv"
prep c4 --format csv --input "$S/renamed.tsv" --csv-img-key img --csv-caption-key text
cmp "$TMP/m/dataset.cache" "$TMP/c4/dataset.cache"
# the domain from the shard name
prep wd --format wds --input "$TMP/fx/wds/part-{0..1}.tar" --wds-domain shard
"$MODX" data info "$TMP/wd/dataset.cache" | grep -q "domain part-0 "
"$MODX" data info "$TMP/wd/dataset.cache" | grep -q "domain part-1 "
# --skip-bad: a shard with a sample without caption beside the good ones
prep ws --format wds --input "$TMP/fx/wds/part-{0..1}.tar" --input "$TMP/fx/bad/no_caption.tar" --skip-bad
grep -q "6 images, 14 captions" "$TMP/ws.txt"
grep -q "skipped 1 item" "$TMP/ws.txt"
grep -q "no_caption.tar: sample 'a': expected a caption" "$TMP/ws.txt"
echo "wds and csv caches equal the manifest's"
