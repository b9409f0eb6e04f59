# The README's "Your own data" section followed as written, from scratch, on a
# fabricated set of 60 images: its manifest, its experiment file (taken from
# the README) and its commands, in a fresh folder holding only what a clone
# has (configs/, data/), up to the report. The test-split route runs on the
# same images without "split".
set -eu
export OMP_WAIT_POLICY=passive
R=$PWD/README.md
W="$TMP/fresh"; mkdir -p "$W/configs" "$W/data"
cp configs/*.json "$W/configs/"; cp data/bpe_simple_vocab_16e6.txt.gz "$W/data/"
bash tests/fixtures/own_data.sh "$W" 60
# the README's manifest line has the shape of ours
python3 tests/fixtures/readme_blocks.py "$R" json "Your own data" 0 > "$TMP/line.json"
python3 - "$TMP/line.json" "$W/my.jsonl" <<'PY'
import json, sys
want = set(json.load(open(sys.argv[1])))
for line in open(sys.argv[2]):
    assert set(json.loads(line)) == want, (set(json.loads(line)), want)
PY
python3 tests/fixtures/readme_blocks.py "$R" json "Your own data" 1 > "$W/mine.json"
python3 tests/fixtures/readme_blocks.py "$R" sh "Your own data" | grep -v -- '--format \(karpathy\|wds\|csv\)' > "$TMP/cmds"
[ "$(wc -l < "$TMP/cmds")" -ge 4 ]
run_cmds() { # DIR: the commands in DIR, modx as built
  while read -r c; do
    echo "+ $c"
    (cd "$1" && eval "\"\$MODX\" ${c#modx }") > "$TMP/out" 2>&1 || { echo "failed: $c"; cat "$TMP/out"; exit 1; }
  done < "$TMP/cmds"
}
run_cmds "$W"
grep -q '"status":	"done"' "$W/runs/mine/run.json"
[ -s "$W/runs/mine/report.html" ] && grep -q "sketches" "$W/runs/mine/report.html"
grep -q "| modx |" "$W/runs/mine/results.md"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/full.json"
# the same without "split": the README's prepare gives 20 % of them test
W2="$TMP/nosplit"; mkdir -p "$W2/configs" "$W2/data"
cp configs/*.json "$W2/configs/"; cp data/bpe_simple_vocab_16e6.txt.gz "$W2/data/"
bash tests/fixtures/own_data.sh "$W2" 60 --no-split
cp "$W/mine.json" "$W2/"
grep -- '--test-fraction\|data info' "$TMP/cmds" > "$TMP/cmds2"; mv "$TMP/cmds2" "$TMP/cmds"
run_cmds "$W2"
"$MODX" data info "$W2/caches/mine" --list > "$TMP/list"
[ "$(awk -F'\t' '$3 == "test"' "$TMP/list" | wc -l)" -eq 12 ]
[ "$(awk -F'\t' '$3 == "train"' "$TMP/list" | wc -l)" -eq 48 ]
echo ok
