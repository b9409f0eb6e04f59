# modx run: every strategy end to end on a tiny fabricated dataset (prepared
# from a manifest by the run), the run directory of docs/run-directory.md,
# the shared phase-0 start, and modx eval against the run's own evaluation.
set -eu
export OMP_WAIT_POLICY=passive
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]},
               {"name": "green", "dataset": "toy", "split": "test", "domains": ["green"]},
               {"name": "blue", "dataset": "toy", "split": "test", "domains": ["blue"]},
               {"name": "fit", "dataset": "toy", "split": "train", "sample": 8, "role": "train_sample"}]' \
  '["joint", "finetune", "modx", "modx-noselect", "lwf", "ewc", "replay", "modx+replay", "wiseft"]' \
  '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "buffer": 6, "ewc_lambda": 100, "log_every": 1, "eval_batch": 8}'
R="$TMP/run"
"$MODX" run "$D/exp.json" --out "$R" > "$TMP/out" 2> "$TMP/err"
cat "$TMP/out"
grep -q "| modx+replay |" "$TMP/out"
# the run directory
for f in experiment.json run.json metrics.jsonl results.csv results.md phase0/model.safetensors \
         phase0/model.optim.safetensors phase0/probe.safetensors joint/phase2/model.safetensors joint/phase2/probe.safetensors; do
  [ -f "$R/$f" ] || { echo "missing $f"; exit 1; }
done
for s in finetune modx modx-noselect lwf ewc replay modx+replay wiseft; do
  for k in 1 2; do
    for f in model.safetensors model.optim.safetensors probe.safetensors; do
      [ -f "$R/$s/phase$k/$f" ] || { echo "missing $s/phase$k/$f"; exit 1; }
    done
  done
  [ ! -e "$R/$s/resume.safetensors" ] || { echo "$s: resume checkpoint left behind"; exit 1; }
done
[ -f "$R/replay/phase2/replay.safetensors" ]
grep -q '"status":	"done"' "$R/run.json"
grep -q '"phase_names":	\["red", "green", "blue"\]' "$R/run.json"
grep -q '"first_phase":	2' "$R/run.json"
# results: phase0 and joint 4 rows each, 8 strategies x 2 phases x 4 test sets, + header
[ "$(wc -l < "$R/results.csv")" -eq $((1 + 4 + 4 + 64)) ] || { wc -l "$R/results.csv"; exit 1; }
[ "$(grep -c '"type": "eval"' "$R/metrics.jsonl")" -eq 72 ]
# probe features are P x E = 4 x 16
"$MODX" inspect "$R/modx/phase2/probe.safetensors" | grep -q "image_features.*\[4, 16\]"
# every strategy starts phase 1 from the same phase-0 weights: identical first-step contrastive loss
first=$(grep '"phase": 1, "step": 1,' "$R/metrics.jsonl" | grep -v replay | sed -E 's/.*"loss_con": ([^,]*),.*/\1/' | sort -u)
[ "$(echo "$first" | wc -l)" -eq 1 ] || { echo "phase-1 first losses differ: $first"; exit 1; }
# the distilling strategies really distil (a non-zero term after step 1), and differ from plain fine-tuning
grep '"strategy": "modx", "phase": 1, "step": 3,' "$R/metrics.jsonl" | grep -qv '"loss_kl": 0,'
grep '"strategy": "lwf", "phase": 1, "step": 3,' "$R/metrics.jsonl" | grep -qv '"loss_kl": 0,'
! cmp -s "$R/modx/phase2/model.safetensors" "$R/finetune/phase2/model.safetensors"
! cmp -s "$R/modx/phase2/model.safetensors" "$R/modx-noselect/phase2/model.safetensors"
# modx eval of a checkpoint equals the run's own evaluation of it
line=$(grep '"type": "eval", "strategy": "modx", "phase": 2, "test_set": "green"' "$R/metrics.jsonl")
want=$(echo "$line" | sed -E 's/.*"rsum": ([0-9.]*),.*/\1/')
"$MODX" eval --ckpt "$R/modx/phase2/model.safetensors" --data "$R/data/toy.cache" --split test --domains green > "$TMP/eval"
got=$(sed -nE 's/^rsum ([0-9.]*)$/\1/p' "$TMP/eval")
awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b < 0.01 && b - a < 0.01) }' || { echo "eval rsum $got, run $want"; exit 1; }
# a second run into the same folder is refused
if "$MODX" run "$D/exp.json" --out "$R" 2> "$TMP/err2"; then exit 1; fi
grep -q "already holds a run" "$TMP/err2"
# modx continual: one strategy over the stream into a new folder gives the same weights
"$MODX" continual "$D/exp.json" --strategy modx --out "$TMP/c" --quiet > /dev/null
cmp "$TMP/c/modx/phase2/model.safetensors" "$R/modx/phase2/model.safetensors"
# modx train: one dataset, joint, then modx eval
"$MODX" train --data "$R/data/toy.cache" --config tests/fixtures/engine/micro.json --domains red,green --epochs 2 \
  --batch 4 --out "$TMP/t" --quiet | grep -q "wrote $TMP/t/model.safetensors: 12 steps"
"$MODX" eval --ckpt "$TMP/t/model.safetensors" --data "$R/data/toy.cache" | grep -q "^rsum"
