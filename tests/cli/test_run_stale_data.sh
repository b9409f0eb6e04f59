# A run stopped before it started (no experiment.json yet: killed while its
# data was being prepared) is either started again or refused clearly: --resume
# says what happened and what to run; a fresh `modx run` into that folder
# prepares its data anew instead of keeping a stale cache from the stopped
# attempt, and ends as a run into an empty folder.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8}'
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" '["finetune"]' '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" run "$D/exp.json" --out "$TMP/solo" --quiet --no-report > /dev/null
# a stale cache: the same dataset name prepared from other captions
mkdir -p "$TMP/other"
sed 's/thing/object/' "$D/manifest.jsonl" > "$TMP/other/manifest.jsonl"
cp "$D/bpe.txt" "$TMP/other/"
bash tests/fixtures/engine/toy_experiment.sh "$TMP/other/exp.json" toy "$TOY_TESTS" '["finetune"]' '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" run "$TMP/other/exp.json" --out "$TMP/otherrun" --quiet --no-report > /dev/null
! cmp -s "$TMP/otherrun/data/toy.cache" "$TMP/solo/data/toy.cache"
R="$TMP/stopped"
mkdir -p "$R/data"
cp "$TMP/otherrun/data/toy.cache" "$R/data/toy.cache"
if "$MODX" run --resume "$R" --quiet 2> "$TMP/err"; then echo "resumed a run that never started"; exit 1; fi
grep -q "no experiment.json: not a run folder, or a run stopped before it started" "$TMP/err"
grep -q "modx run EXPERIMENT --out $R" "$TMP/err"
"$MODX" run "$D/exp.json" --out "$R" --quiet --no-report > /dev/null
cmp "$TMP/solo/data/toy.cache" "$R/data/toy.cache"
cmp "$TMP/solo/results.csv" "$R/results.csv"
cmp "$TMP/solo/finetune/phase2/model.safetensors" "$R/finetune/phase2/model.safetensors"
echo ok
