# Every `modx` command of the README's ```sh blocks, as written, in a fresh
# folder holding what a clone has (configs/, data/) plus small fabricated
# inputs at the paths the commands name. A command this script cannot feed is
# listed below with the reason; a new README command must be run here or
# listed, or this test fails.
set -eu
export OMP_WAIT_POLICY=passive
R=$PWD/README.md
W="$TMP/fresh"; mkdir -p "$W/configs" "$W/data"
cp configs/*.json "$W/configs/"; cp data/bpe_simple_vocab_16e6.txt.gz "$W/data/"
# the inputs: your own data (manifest, images) and the README's experiment file
bash tests/fixtures/own_data.sh "$W" 60
python3 tests/fixtures/readme_blocks.py "$R" json "Your own data" 1 > "$W/mine.json"
# CSV as OpenCLIP reads it (comma-separated, filepath + title columns)
{ echo "filepath,title"; for i in 0 1 2 3 4 5; do printf 'img/%04d.png,a thing number %d\n' $i $i; done; } > "$W/train.csv"
# 128 webdataset shards, one sample each (an image and its caption)
mkdir -p "$W/shards" "$TMP/s"
for k in $(seq 0 127); do
  cp "$W/img/$(printf %04d $((k % 60))).png" "$TMP/s/s$k.png"; echo "sample $k" > "$TMP/s/s$k.txt"
  tar -C "$TMP/s" -cf "$W/shards/train-$(printf %04d $k).tar" "s$k.png" "s$k.txt"
done
skip() { # the commands not run, and why
  case "$1" in
    *"--format karpathy --input dataset_coco.json --images /data/coco"*) echo "needs COCO's images under /data/coco";;
    *"modx watch /data/incoming "*) echo "watches a folder of arriving shards (/data/incoming); tests/cli/test_watch.sh runs it end to end";;
    *"models/openai/open_clip_model.safetensors"*) echo "needs OpenAI's ViT-B/32 weights downloaded (the curl line beside it)";;
    *) return 1;;
  esac
}
python3 tests/fixtures/readme_blocks.py "$R" sh > "$TMP/cmds"
[ "$(wc -l < "$TMP/cmds")" -ge 7 ]
ran=0
while read -r c; do
  if why=$(skip "$c"); then echo "skipped ($why): $c"; continue; fi
  echo "+ $c"
  (cd "$W" && eval "\"\$MODX\" ${c#modx }") > "$TMP/out" 2>&1 || { echo "failed as written: $c"; cat "$TMP/out"; exit 1; }
  ran=$((ran + 1))
done < "$TMP/cmds"
[ "$ran" -ge 6 ]
[ -s "$W/caches/wds/dataset.cache" ] && [ -s "$W/caches/csv/dataset.cache" ] && [ -s "$W/runs/mine/report.html" ]
# the README states what the paper's protocol costs here (steps x measured step time, per phase) and
# points to the options that shorten it (issue: a newcomer planning the paper's run)
awk '/^### What the paper.s protocol costs here/ { on = 1; next } /^##/ { on = 0 } on' "$R" > "$TMP/cost"
grep -q '123,900' "$TMP/cost" && grep -q '6,545' "$TMP/cost" && grep -q 'mpirun -np N modx run' "$TMP/cost" &&
  grep -q '"precision": "bf16"' "$TMP/cost" || { echo "README: the protocol's cost section is missing or incomplete"; exit 1; }
echo "ok: $ran README commands ran"
