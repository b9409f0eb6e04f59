# modx run --print-defaults prints a complete experiment with every default
# written out, and that file, as printed, runs against placeholder files at
# the paths it names.
set -eu
export OMP_WAIT_POLICY=passive
E="$TMP/e"; mkdir -p "$E/configs" "$E/data"
"$MODX" run --print-defaults > "$E/exp.json"
python3 - "$E/exp.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
want = ["name", "model", "tokenizer", "datasets", "phase0", "stream", "test_sets", "strategies", "probe", "train"]
assert list(e) == want, list(e)
train = ["epochs", "phase0_epochs", "joint_epochs", "batch", "lr", "warmup", "weight_decay", "joint_weight_decay",
         "grad_clip", "seed", "log_every", "checkpoint_every", "eval_batch", "alpha", "lwf_lambda", "lwf_tau",
         "ewc_lambda", "ewc_batches", "buffer", "replay_fraction", "wiseft_mix", "merge_weight", "precision",
         "old_features", "distill_rows", "cumulative_buffer", "cumulative_policy", "cumulative_decay",
         "cumulative_steps", "zscl_lambda", "zscl_interval"]
assert sorted(e["train"]) == sorted(train), sorted(e["train"])
assert e["train"]["precision"] == "fp32" and e["train"]["old_features"] == "cache", e["train"]
assert e["train"]["cumulative_policy"] == "all" and e["train"]["distill_rows"] == "all", e["train"]
assert e["train"]["batch"] == 32 and e["train"]["lr"] == 5e-4 and e["probe"]["pairs"] == 500
assert e["datasets"]["mine"] == {"format": "manifest", "input": "my.jsonl"}
PY
# the files it names: a micro model for speed (the real tokenizer's vocabulary), your own data
sed 's/"vocab_size": 600/"vocab_size": 49408/' tests/fixtures/engine/micro.json > "$E/configs/starter.json"
cp data/bpe_simple_vocab_16e6.txt.gz "$E/data/"
bash tests/fixtures/own_data.sh "$E" 80
"$MODX" run "$E/exp.json" --out "$TMP/r" --quiet --no-report > /dev/null
grep -q '"status":	"done"' "$TMP/r/run.json"
grep -q '"strategy": "modx", "phase": 2, "test_set": "mine"' "$TMP/r/metrics.jsonl"
echo ok
