# Resume: a run killed with SIGKILL at arbitrary steps (several times, also
# between checkpoints, so steps since the last checkpoint are redone) and
# resumed ends with every checkpoint, probe, replay buffer and results file
# byte-identical to an uninterrupted run; metrics.jsonl equal but for timings.
# Also SIGTERM: the run stops with a resume checkpoint and continues.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy-resume \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]},
               {"name": "blue", "dataset": "toy", "split": "test", "domains": ["blue"]}]' \
  '["joint", "finetune", "modx", "modx-noselect", "lwf", "ewc", "replay", "modx+replay", "wiseft"]' \
  '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "buffer": 6, "ewc_lambda": 100,
           "checkpoint_every": 4, "log_every": 1, "eval_batch": 8}'
"$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
# killed after 5 steps (phase 0, between checkpoints), then 43, 31 and 57 more steps of each resumed process
rc=0; MODX_TEST_KILL_AFTER_STEPS=5 "$MODX" run "$D/exp.json" --out "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137), got $rc"; exit 1; }
[ -f "$TMP/b/phase0/resume.safetensors" ]
for k in 43 31 57; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k "$MODX" run --resume "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps, got $rc"; exit 1; }
done
"$MODX" run --resume "$TMP/b" --quiet > /dev/null
n=0
for f in $(cd "$TMP/a" && find . -name '*.safetensors' | sort) results.csv results.md; do
  cmp "$TMP/a/$f" "$TMP/b/$f"
  n=$((n + 1))
done
echo "$n files identical"
[ "$n" -ge 50 ]
[ -z "$(cd "$TMP/b" && find . -name 'resume*')" ] || { echo "resume files left"; exit 1; }
diff <(metrics_sans_timings "$TMP/a/metrics.jsonl") <(metrics_sans_timings "$TMP/b/metrics.jsonl")
# SIGTERM: stops at a step with a resume checkpoint (or finishes first), then --resume completes the run
"$MODX" run "$D/exp.json" --out "$TMP/c" --quiet > /dev/null 2>&1 &
pid=$!
sleep 0.3
kill -TERM $pid 2>/dev/null || true
wait $pid || true
[ -f "$TMP/c/run.json" ]
grep -q '"status":	"done"' "$TMP/c/run.json" || "$MODX" run --resume "$TMP/c" --quiet > /dev/null
for f in modx/phase2/model.safetensors replay/phase2/replay.safetensors wiseft/phase2/model.safetensors results.csv; do
  cmp "$TMP/a/$f" "$TMP/c/$f"
done
# resuming a finished run does nothing more and still prints the table
"$MODX" run --resume "$TMP/a" | grep -q "| modx |"
# modx continual, one strategy at a time: a strategy stopped mid-phase must be
# finished before another one runs (it recorded where metrics.jsonl ended).
rc=0; MODX_TEST_KILL_AFTER_STEPS=11 "$MODX" continual "$D/exp.json" --strategy finetune --out "$TMP/d" --quiet --no-report \
  > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137), got $rc"; exit 1; }
[ -f "$TMP/d/finetune/resume.safetensors" ] || { echo "no pending resume checkpoint for finetune"; exit 1; }
if "$MODX" continual --resume "$TMP/d" --strategy modx --quiet --no-report > /dev/null 2> "$TMP/d.err"; then
  echo "another strategy ran over a pending resume checkpoint"; exit 1
fi
grep -q "strategy 'finetune' was stopped mid-phase" "$TMP/d.err"
"$MODX" continual --resume "$TMP/d" --strategy finetune --quiet --no-report > /dev/null
"$MODX" continual --resume "$TMP/d" --strategy modx --quiet --no-report > /dev/null
cmp "$TMP/a/finetune/phase2/model.safetensors" "$TMP/d/finetune/phase2/model.safetensors"
cmp "$TMP/a/modx/phase2/model.safetensors" "$TMP/d/modx/phase2/model.safetensors"
