# Bad experiment files give a clear error (file, key, expected vs found)
# before any training starts: nothing is trained or written in RUN_DIR.
set -eu
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
"$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 16 --context 8 \
  --out "$D/prep" > /dev/null
good() {
  cat <<JSON
{"name": "toy",
 "model": "$PWD/tests/fixtures/engine/micro.json",
 "tokenizer": "bpe.txt",
 "datasets": {"toy": {"cache": "prep/dataset.cache"}},
 "phase0": {"dataset": "toy", "split": "train", "domains": ["red"]},
 "stream": {"dataset": "toy", "split": "train", "mode": "domain", "domains": ["green", "blue"]},
 "test_sets": [{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}],
 "strategies": ["finetune", "modx"],
 "train": {"epochs": 1, "batch": 4}}
JSON
}
n=0
# expect_error NAME SED-EXPRESSION MESSAGE-PATTERN
expect_error() {
  good | sed "$2" > "$D/$1.json"
  if "$MODX" run "$D/$1.json" --out "$TMP/run_$1" > "$TMP/out" 2> "$TMP/err"; then
    echo "$1: accepted"; exit 1
  fi
  grep -q -- "$3" "$TMP/err" || { echo "$1: message does not match '$3':"; cat "$TMP/err"; exit 1; }
  grep -q "$1.json" "$TMP/err" || { echo "$1: message does not name the file:"; cat "$TMP/err"; exit 1; }
  if [ -d "$TMP/run_$1/phase0" ] || [ -f "$TMP/run_$1/metrics.jsonl" ]; then echo "$1: trained anyway"; exit 1; fi
  n=$((n + 1))
}
# the good file passes (sanity: the cases below fail for the reason given)
good > "$D/good.json"
"$MODX" run "$D/good.json" --out "$TMP/good" --quiet > /dev/null
expect_error unknown_strategy 's/"modx"\]/"modx", "mod-x"]/' "unknown strategy 'mod-x'"
expect_error undefined_dataset 's/"stream": {"dataset": "toy"/"stream": {"dataset": "coco"/' "'stream.dataset': dataset 'coco' is not defined"
expect_error missing_cache 's#prep/dataset.cache#prep/nope.cache#' "'datasets.toy.cache': file .*nope.cache does not exist"
expect_error missing_model 's#engine/micro.json#engine/nope.json#' "'model': file .*nope.json does not exist"
expect_error too_many_phases 's/"mode": "domain", "domains": \["green", "blue"\]/"mode": "contiguous", "phases": 100/' "100 phases but the stream has only 36 images"
expect_error phase_too_small 's/"mode": "domain", "domains": \["green", "blue"\]/"mode": "random", "phases": 12/' "fewer than one batch"
expect_error batch_type 's/"batch": 4/"batch": "4"/' "'train.batch': expected an integer, found a string"
expect_error batch_range 's/"batch": 4/"batch": 1/' "'train.batch': expected an integer in \[2, 65536\], found 1"
expect_error lr_type 's/"epochs": 1,/"epochs": 1, "lr": [0.1],/' "'train.lr': expected a number, found an array"
expect_error unknown_key 's/"epochs": 1,/"epochs": 1, "epoch": 2,/' "unknown key 'train.epoch'"
expect_error unknown_top_key 's/"name": "toy",/"name": "toy", "phases": 3,/' "unknown key 'phases'"
expect_error strategies_type 's/"strategies": \["finetune", "modx"\]/"strategies": "modx"/' "'strategies': expected a non-empty array"
expect_error unknown_domain 's/"domains": \["green", "blue"\]/"domains": ["green", "purple"]/' "unknown domain 'purple' (the dataset has: red, green, blue)"
expect_error no_mode 's/"mode": "domain", //' "missing key 'stream.mode'"
expect_error bad_mode 's/"mode": "domain"/"mode": "shuffled"/' "'stream.mode'"
expect_error no_phases 's/"mode": "domain", "domains": \["green", "blue"\]/"mode": "contiguous"/' "'stream.phases': mode 'contiguous' needs"
expect_error malformed 's/"name": "toy",/"name": "toy"/' "expected a JSON document"
expect_error wrong_size 's#engine/micro.json#../../configs/micro.json#' "vocab"
expect_error test_split_empty 's/"split": "test", "domains": \["red"\]/"split": "val", "domains": ["red"]/' "dataset 'toy': no image in split val and domains red (the dataset has splits: train=[0-9]* test=[0-9]*; domains: red, green, blue)"
echo "$n bad experiment files refused"
