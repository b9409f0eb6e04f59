# zscl on the toy stream: distillation to phase 0's model on a reference test
# set plus weight averaging every `interval` steps; its steps log the term,
# the averaged weights replace the phase's model, the reference passes show in
# the compute record, a run killed with SIGKILL and resumed ends
# byte-identical, and bad hyperparameters are refused before training naming
# the file, the strategy entry and the key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 3}'
# the reference: 4 red training images, a train_sample set (outside every retention figure)
TESTS="${TOY_TESTS%]},
            {\"name\": \"ref\", \"dataset\": \"toy\", \"split\": \"train\", \"domains\": [\"red\"], \"sample\": 4, \"role\": \"train_sample\"}]"
STRATS='["finetune", {"name": "zs", "strategy": "zscl", "reference": "ref", "lambda": 2, "interval": 2},
  {"name": "zs-noavg", "strategy": "zscl", "reference": "ref", "lambda": 2, "interval": 0}]'
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TESTS" "$STRATS" '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
grep -q '"reference":	"ref"' "$TMP/a/experiment.json"
[ -f "$TMP/a/zs/phase2/zscl_average.safetensors" ] && [ ! -f "$TMP/a/zs-noavg/phase2/zscl_average.safetensors" ]
# the term is logged (loss_kl > 0) and adds to the loss
grep '"strategy": "zs"' "$TMP/a/metrics.jsonl" | grep '"type": "step"' | grep -vq '"loss_kl": 0,'
# averaging changes the model: zs and zs-noavg share every step's loss but not the phase's end
lz() { grep "\"strategy\": \"$1\", \"phase\": 1," "$TMP/a/metrics.jsonl" | grep '"type": "step"' | sed -E 's/.*"loss": ([^,]*),.*/\1/'; }
[ -n "$(lz zs)" ] && [ "$(lz zs)" = "$(lz zs-noavg)" ]
[ "$(grep '^zs,1,' "$TMP/a/results.csv" | cut -d, -f3-)" != "$(grep '^zs-noavg,1,' "$TMP/a/results.csv" | cut -d, -f3-)" ]
# compute: 6 steps x 4 pairs + 6 reference batches of 4 (the reference set has 4 images), and the
# starting model's forward on each reference batch (frozen: 6 x 4)
grep '"type": "compute", "strategy": "zs", "phase": 1,' "$TMP/a/metrics.jsonl" | grep -q '"forward_passes": 48'
grep '"type": "compute", "strategy": "zs", "phase": 1,' "$TMP/a/metrics.jsonl" | grep -q '"frozen_forward_passes": 24'

# killed with SIGKILL and resumed: byte-identical
kill_resume "$D/exp.json" "$TMP/b" 20 5 7 4
same_run "$TMP/a" "$TMP/b" "after SIGKILL and resume"

# bad hyperparameters
bad() { # STRATEGIES TRAIN EXPECTED...
  local list=$1 train=$2; shift 2
  bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TESTS" "$list" '{"test_set": "red", "pairs": 4}' "$train"
  rm -rf "$TMP/badrun"
  if "$MODX" run "$D/bad.json" --out "$TMP/badrun" --quiet > /dev/null 2> "$TMP/berr"; then echo "accepted: $list"; exit 1; fi
  for want in "$@"; do grep -qF -- "$want" "$TMP/berr" || { echo "'$want' missing from:"; cat "$TMP/berr"; exit 1; }; done
  [ ! -d "$TMP/badrun/finetune" ] || { echo "trained before refusing"; exit 1; }
}
bad '["finetune", {"name": "z", "strategy": "zscl", "reference": "purple"}]' "$TRAIN" bad.json "(z).reference" "'purple'" "test_sets"
bad '["finetune", {"name": "z", "strategy": "zscl", "lambda": -1}]' "$TRAIN" bad.json "(z).lambda" "in [0, 1e+06]"
bad '["finetune", {"name": "z", "strategy": "zscl", "interval": 1.5}]' "$TRAIN" bad.json "(z).interval" "an integer"
bad '["finetune", "zscl"]' '{"epochs": 2, "batch": 4, "zscl_reference": "ref"}' bad.json "train.zscl_reference" "in a strategy variant"
# the reference is required, and may not be a set whose R@1 is a retention figure
bad '["finetune", "zscl"]' "$TRAIN" bad.json "strategies[1]" "(zscl)" "needs 'reference'" "no default"
bad '["finetune", {"name": "z", "strategy": "zscl", "lambda": 2}]' "$TRAIN" bad.json "(z)" "needs 'reference'"
bad '["finetune", {"name": "z", "strategy": "zscl", "reference": "red"}]' "$TRAIN" bad.json "(z).reference" \
  "'red' has role 'domain'" "train_sample"
echo ok
