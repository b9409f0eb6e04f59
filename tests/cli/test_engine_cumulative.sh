# cumulative (TiC-CLIP) and oracle on the toy stream: cumulative with policy
# all, no budget and proportional steps trains on exactly oracle's batches
# (the same pairs in every epoch); cumulative's fixed steps are finetune's,
# oracle's grow with the data and show in the compute records; a budget
# keeps the replayed pairs within it; a run killed with SIGKILL and resumed
# ends byte-identical; bad hyperparameters are refused before training,
# naming the file, the strategy entry and the key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 3}'
STRATS='["finetune", "cumulative", "oracle",
  {"name": "cum-prop", "strategy": "cumulative", "steps": "proportional"},
  {"name": "cum-equal", "strategy": "cumulative", "buffer": 6, "policy": "equal"},
  {"name": "cum-exp", "strategy": "cumulative", "buffer": 6, "policy": "exponential", "decay": 0.25},
  {"name": "cum-res", "strategy": "cumulative", "buffer": 6, "policy": "reservoir"}]'
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" "$STRATS" '{"test_set": "red", "pairs": 4}' "$TRAIN"
MODX_TEST_TRACE_BATCHES="$TMP/trace" "$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
for s in finetune cumulative oracle cum-prop cum-equal cum-exp cum-res; do
  [ -f "$TMP/a/$s/phase2/model.safetensors" ] || { echo "$s: no phase-2 checkpoint"; exit 1; }
done
grep -q '"policy":	"reservoir"' "$TMP/a/experiment.json"
# the same batches, step by step, for oracle and cumulative (all, no budget, proportional steps)
strip() { grep "^$1 $2 " "$TMP/trace" | cut -d' ' -f4-; }
for k in 1 2; do
  [ -n "$(strip oracle $k)" ]
  [ "$(strip oracle $k)" = "$(strip cum-prop $k)" ] || { echo "phase $k: oracle's and cumulative's batches differ"; exit 1; }
done
# phase 2 of oracle: phase 0's, 1's and 2's images (36) every epoch: 2 epochs x 9 steps
[ "$(strip oracle 2 | wc -l)" -eq 18 ]
[ "$(strip oracle 2 | head -9 | tr ' ' '\n' | sort -u | wc -l)" -eq 36 ]
# fixed steps: finetune's (2 epochs x 12/4); the same data as cum-prop's
[ "$(strip cumulative 2 | wc -l)" -eq "$(strip finetune 2 | wc -l)" ]
[ "$(strip cumulative 2 | wc -l)" -eq 6 ]
# a budget of 6 old pairs: 6 + 12 new images in the phase's mix
for s in cum-equal cum-exp cum-res; do
  n=$(strip $s 2 | tr ' ' '\n' | sort -u | wc -l)
  [ "$n" -le 18 ] && [ "$n" -ge 13 ] || { echo "$s: $n distinct images in phase 2"; exit 1; }
done
# compute: oracle's phase-2 record counts its 18 steps x 4 pairs
grep '"type": "compute"' "$TMP/a/metrics.jsonl" | grep '"strategy": "oracle"' | grep '"phase": 2' | grep -q '"samples": 72' ||
  { grep '"type": "compute"' "$TMP/a/metrics.jsonl" | grep oracle; echo "oracle's compute record"; exit 1; }

# killed with SIGKILL at several points and resumed: byte-identical
kill_resume "$D/exp.json" "$TMP/b" 40 17 29 23
same_run "$TMP/a" "$TMP/b" "after SIGKILL and resume"
[ "$SAME_FILES" -ge 14 ]

# bad hyperparameters: refused before training, naming file, entry and key
bad() { # STRATEGIES EXPECTED...
  local list=$1; shift
  bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TOY_TESTS" "$list" '{"test_set": "red", "pairs": 4}' "$TRAIN"
  rm -rf "$TMP/badrun"
  if "$MODX" run "$D/bad.json" --out "$TMP/badrun" --quiet > /dev/null 2> "$TMP/berr"; then echo "accepted: $list"; exit 1; fi
  for want in "$@"; do grep -qF -- "$want" "$TMP/berr" || { echo "'$want' missing from:"; cat "$TMP/berr"; exit 1; }; done
  [ ! -d "$TMP/badrun/finetune" ] || { echo "trained before refusing"; exit 1; }
}
bad '["finetune", {"name": "c", "strategy": "cumulative", "policy": "fifo"}]' "bad.json" "strategies[1]' (c).policy" \
  "'all', 'equal', 'exponential', 'reservoir'" "fifo"
bad '["finetune", {"name": "c", "strategy": "cumulative", "policy": 2}]' "bad.json" "(c).policy" "found a number"
bad '["finetune", {"name": "c", "strategy": "cumulative", "decay": 0}]' "bad.json" "(c).decay" "expected a number in"
bad '["finetune", {"name": "c", "strategy": "cumulative", "steps": "more"}]' "bad.json" "(c).steps" "'fixed', 'proportional'"
bad '["finetune", {"name": "c", "strategy": "cumulative", "buffer": -1}]' "bad.json" "(c).buffer" "an integer"
bad '["finetune", {"name": "o", "strategy": "oracle", "buffer": 5}]' "bad.json" "unknown key 'buffer'" "strategy 'oracle'"
echo "ok"
