# The paper's protocol file experiments/coco_flickr.json end to end on a tiny
# fabricated Karpathy-format COCO and Flickr30K (paths, model, tokenizer and
# training lengths swapped for tiny ones; datasets, splits, the 5 contiguous
# phases and the test sets as in the file). joint trains on COCO's phase-0 set
# and Flickr30K's phases together; replay starts from COCO's pairs.
set -eu
export OMP_WAIT_POLICY=passive
D="$TMP/k"
mkdir -p "$D"
IMG=$PWD/tests/fixtures/data/images
pngs=(red green blue grey half stripes)
karpathy() { # name count splits-spec...
  local name=$1 n=$2; shift 2
  local splits=("$@")
  { echo '{"dataset": "'$name'", "images": ['
    for i in $(seq 0 $((n - 1))); do
      p=${pngs[$((i % 6))]}
      [ $i -gt 0 ] && echo ','
      printf '{"filepath": "train2014", "filename": "%s.png", "imgid": %d, "split": "%s", "sentences": [{"raw": "%s photo %d of %s"}, {"raw": "a %s image number %d"}]}' \
        "$p" $i "${splits[$i]}" "$name" $i "$p" "$p" $i
    done
    echo ']}'; } > "$D/dataset_$name.json"
}
cs=(); for i in $(seq 0 15); do s=train; [ $i -ge 10 ] && s=restval; [ $i -ge 12 ] && s=test; cs+=($s); done
fs=(); for i in $(seq 0 28); do s=train; [ $i -ge 20 ] && s=val; [ $i -ge 25 ] && s=test; fs+=($s); done
karpathy coco 16 "${cs[@]}"
karpathy flickr30k 29 "${fs[@]}"
for i in $(seq 0 40); do echo "coco photo $i of flickr30k a red green blue grey half stripes image number $i"; done > "$D/captions.txt"
"$MODX" tokenizer train --corpus "$D/captions.txt" --size 600 --out "$D/bpe.txt" > /dev/null
sed -e "s#\"\\.\\./configs/ViT-B-32.json\"#\"$PWD/tests/fixtures/engine/micro.json\"#" \
    -e "s#\"\\.\\./data/bpe_simple_vocab_16e6.txt.gz\"#\"$D/bpe.txt\"#" \
    -e "s#/path/to/coco/dataset_coco.json#$D/dataset_coco.json#" -e "s#/path/to/coco/images#$IMG#" \
    -e "s#/path/to/flickr30k/dataset_flickr30k.json#$D/dataset_flickr30k.json#" -e "s#/path/to/flickr30k/images#$IMG#" \
    -e 's#"epochs": 35}#"epochs": 2}#' \
    -e 's#"strategies": \[.*\]#"strategies": ["joint", "finetune", "modx", "replay"]#' \
    -e 's#"train": {.*}#"train": {"epochs": 1, "batch": 4, "alpha": 5, "eval_batch": 8}#' \
    experiments/coco_flickr.json > "$D/exp.json"
grep -q "$D/dataset_flickr30k.json" "$D/exp.json"
MODX_TEST_TRACE_BATCHES="$TMP/trace" "$MODX" run "$D/exp.json" --out "$TMP/run" > "$TMP/out" 2> "$TMP/err" ||
  { cat "$TMP/err"; exit 1; }
cat "$TMP/out"
R="$TMP/run"
# phase 0: COCO train+restval (12 images); 5 contiguous Flickr30K phases of 5 images (train+val = 25)
grep -q '"phases":	5' "$R/run.json"
grep -q '"phase_names":	\["coco", "phase1", "phase2", "phase3", "phase4", "phase5"\]' "$R/run.json"
grep -q '"name":	"coco-5k",' "$R/run.json"
sed -n '/"coco-5k"/,/}/p' "$R/run.json" | grep -q '"first_phase":	0'
sed -n '/"flickr30k-1k"/,/}/p' "$R/run.json" | grep -q '"first_phase":	1'
grep -q '"type": "step", "strategy": "phase0", "phase": 0, "step": 6, "steps": 6' "$R/metrics.jsonl"  # 12/4 x 2 epochs
grep -q '"type": "step", "strategy": "modx", "phase": 5, "step": 1, "steps": 1' "$R/metrics.jsonl"  # 5 images, batch 4
grep -q '"type": "step", "strategy": "joint", "phase": 5, "step": 9, "steps": 9' "$R/metrics.jsonl"  # (12 + 25)/4
# joint's batches (trace: cache 0 = Flickr30K, the stream's; 1 = COCO) hold 36 distinct images of both
samples() { grep "^$1 " "$TMP/trace" | tr ' ' '\n' | grep ':'; }
[ "$(samples joint | sort -u | wc -l)" -eq 36 ]
[ "$(samples joint | grep -c '^1:')" -ge 11 ] && [ "$(samples joint | grep -c '^0:')" -ge 24 ]
# replay's first phase: 2 Flickr30K pairs and 2 replayed COCO (phase 0) pairs per batch
[ "$(grep '^replay 1 ' "$TMP/trace" | awk '{print $6 "\n" $7}' | grep -c '^1:')" -eq 4 ]
# evaluated on both test sets after every phase: COCO 4 images/8 captions, Flickr 4/8
[ "$(grep -c '"type": "eval", "strategy": "modx", .*"images": 4, "captions": 8' "$R/metrics.jsonl")" -eq 10 ]
[ "$(grep -c '"type": "eval", "strategy": "replay", .*"images": 4, "captions": 8' "$R/metrics.jsonl")" -eq 10 ]
grep -q "| modx |" "$TMP/out"
[ -f "$R/modx/phase5/model.safetensors" ] && [ -f "$R/data/coco.cache" ] && [ -f "$R/data/flickr30k.cache" ]
# the protocol file itself is refused with its placeholder paths, naming the key
if "$MODX" run experiments/coco_flickr.json --out "$TMP/x" 2> "$TMP/err"; then exit 1; fi
grep -q "'datasets.coco.input': file /path/to/coco/dataset_coco.json does not exist" "$TMP/err"
