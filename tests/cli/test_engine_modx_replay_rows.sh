# modx+replay with the distillation on the replayed rows only (distill_rows:
# replay) on the toy stream: it trains, differs from the whole-batch
# distillation, equals a plain modx+replay with train.distill_rows = "replay",
# resumes after SIGKILL byte-identical, and a bad value is refused before
# training naming the file, the strategy entry and the key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 3, "buffer": 6, "alpha": 20}'
STRATS='[{"name": "mxr-rows", "strategy": "modx+replay", "distill_rows": "replay"}, {"name": "mxr-all", "strategy": "modx+replay"}]'
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" "$STRATS" '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
losses() { grep "\"strategy\": \"$1\"" "$TMP/a/metrics.jsonl" | grep '"type": "step"' | sed -E 's/.*"loss": ([^,]*),.*"loss_kl": ([^,]*),.*/\1 \2/'; }
[ -n "$(losses mxr-rows)" ]
[ "$(losses mxr-rows)" != "$(losses mxr-all)" ] || { echo "distill_rows changed nothing"; exit 1; }
# phase 1 onwards: the replayed rows are distilled (a non-zero KL term)
losses mxr-rows | awk '$2 > 0 { n++ } END { exit !(n > 0) }'
grep -q '"distill_rows":	"replay"' "$TMP/a/experiment.json"
# the train key sets the default for the plain strategy
PLAIN=$(echo "$TRAIN" | sed 's/}$/, "distill_rows": "replay"}/')
bash tests/fixtures/engine/toy_experiment.sh "$D/plain.json" toy "$TOY_TESTS" '["modx+replay"]' '{"test_set": "red", "pairs": 4}' "$PLAIN"
"$MODX" run "$D/plain.json" --out "$TMP/p" --quiet > /dev/null
[ "$(grep '^modx+replay,' "$TMP/p/results.csv" | cut -d, -f2-)" = "$(grep '^mxr-rows,' "$TMP/a/results.csv" | cut -d, -f2-)" ]
# killed and resumed: byte-identical
kill_resume "$D/exp.json" "$TMP/b" 13 7 11
same_run "$TMP/a" "$TMP/b" "after SIGKILL and resume"
# a bad value: refused before training
bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TOY_TESTS" \
  '["finetune", {"name": "m", "strategy": "modx+replay", "distill_rows": "old"}]' '{"test_set": "red", "pairs": 4}' "$TRAIN"
if "$MODX" run "$D/bad.json" --out "$TMP/bad" --quiet > /dev/null 2> "$TMP/err"; then echo "accepted"; exit 1; fi
for want in bad.json "strategies[1]' (m).distill_rows" "'all', 'replay'" "'old'"; do
  grep -qF -- "$want" "$TMP/err" || { echo "'$want' missing from:"; cat "$TMP/err"; exit 1; }
done
[ ! -d "$TMP/bad/finetune" ]
echo ok
