# A run killed while a finished phase is being evaluated (checkpoint_every 0:
# no mid-phase checkpoints) resumes at that phase's end instead of training it
# again, and ends as an uninterrupted run; `modx train` run again into a
# folder holding a finished training is refused instead of logging its steps
# twice.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune", "wiseft", "replay"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "buffer": 6}'
"$MODX" run "$D/exp.json" --out "$TMP/solo" --quiet --no-report > /dev/null
# 3 test sets per evaluation: phase 0 = evals 1-3, finetune phase 1 = 4-6; kill after the 5th,
# then wiseft phase 1 (evals 13-15) after the 14th and replay phase 2 (evals 22-24) after the 23rd
R="$TMP/killed"
MODX_TEST_KILL_AFTER_EVALS=5 "$MODX" run "$D/exp.json" --out "$R" --quiet --no-report > /dev/null 2>&1 && exit 1
for n in 9 10; do # 9 more evals: wiseft phase 1's 2nd; 10 more: replay phase 2's 2nd (after resume's re-evaluation)
  MODX_TEST_KILL_AFTER_EVALS=$n "$MODX" run --resume "$R" --no-report > /dev/null 2> "$TMP/err$n" && exit 1
  grep -Eq "resuming at step ([0-9]+) of \1\$" "$TMP/err$n" || { echo "resume $n trained the phase again:"; cat "$TMP/err$n"; exit 1; }
done
"$MODX" run --resume "$R" --no-report > /dev/null 2> "$TMP/err"
grep -Eq "resuming at step ([0-9]+) of \1\$" "$TMP/err" || { echo "the last resume trained the phase again:"; cat "$TMP/err"; exit 1; }
cmp "$TMP/solo/results.csv" "$R/results.csv"
for f in $(cd "$TMP/solo" && find . -name '*.safetensors' | sort); do cmp "$TMP/solo/$f" "$R/$f"; done
diff <(metrics_sans_timings "$TMP/solo/metrics.jsonl") \
     <(metrics_sans_timings "$R/metrics.jsonl")
for s in finetune wiseft replay; do [ ! -e "$R/$s/resume.safetensors" ] || { echo "$s: resume files left"; exit 1; }; done
# modx train into a finished folder: refused, its log untouched
"$MODX" train --data "$TMP/solo/data/toy.cache" --config tests/fixtures/engine/micro.json --epochs 1 --batch 4 \
  --out "$TMP/t" --quiet > /dev/null
cp "$TMP/t/metrics.jsonl" "$TMP/log.before"
if "$MODX" train --data "$TMP/solo/data/toy.cache" --config tests/fixtures/engine/micro.json --epochs 1 --batch 4 \
  --out "$TMP/t" --quiet > /dev/null 2> "$TMP/terr"; then echo "a finished training ran again"; exit 1; fi
grep -q "already holds a finished training" "$TMP/terr"
cmp "$TMP/log.before" "$TMP/t/metrics.jsonl"
echo ok
