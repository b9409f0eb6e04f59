# Variants of one strategy in one experiment: finetune and Mod-X at α = 5 and
# α = 40 run and are reported side by side (the two Mod-X rows differ, and
# modx-a5 equals a plain "modx" run with train.alpha = 5); the resolved
# experiment.json round-trips through --resume; bad variants are refused
# before training, naming the file, the strategy entry and the key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8}'
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" \
  '["finetune", {"name": "modx-a5", "strategy": "modx", "alpha": 5}, {"name": "modx-a40", "strategy": "modx", "alpha": 40}]' \
  '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" run "$D/exp.json" --out "$TMP/run" --no-report > "$TMP/out" 2> "$TMP/err" || { cat "$TMP/err"; exit 1; }
cat "$TMP/out"
for s in finetune modx-a5 modx-a40; do
  grep -q "| $s |" "$TMP/out" || { echo "$s missing from the table"; exit 1; }
  [ "$(grep -c "^$s,2," "$TMP/run/results.csv")" -eq 3 ] || { echo "$s: no phase-2 results"; exit 1; }
  [ -f "$TMP/run/$s/phase2/model.safetensors" ] || { echo "$s: no phase-2 checkpoint"; exit 1; }
done
! cmp -s "$TMP/run/modx-a5/phase2/model.safetensors" "$TMP/run/modx-a40/phase2/model.safetensors"
[ "$(grep '^modx-a5,' "$TMP/run/results.csv" | cut -d, -f3-)" != "$(grep '^modx-a40,' "$TMP/run/results.csv" | cut -d, -f3-)" ]
grep -q '"alpha":	40' "$TMP/run/experiment.json"

# modx-a5 is exactly a plain modx run with train.alpha = 5
bash tests/fixtures/engine/toy_experiment.sh "$D/plain.json" toy "$TOY_TESTS" '["modx"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "alpha": 5}'
"$MODX" run "$D/plain.json" --out "$TMP/plain" --no-report --quiet > /dev/null
# (the checkpoints differ only in their strategy-name metadata: compare every result and loss)
[ "$(grep '^modx,' "$TMP/plain/results.csv" | cut -d, -f2-)" = "$(grep '^modx-a5,' "$TMP/run/results.csv" | cut -d, -f2-)" ]
losses() { grep "\"strategy\": \"$2\"" "$1" | grep '"type": "step"' | sed -E 's/.*"step": ([0-9]+),.*"loss": ([^,]*),.*/\1 \2/'; }
[ -n "$(losses "$TMP/plain/metrics.jsonl" modx)" ]
[ "$(losses "$TMP/plain/metrics.jsonl" modx)" = "$(losses "$TMP/run/metrics.jsonl" modx-a5)" ]

# one variant alone under modx continual, by its name
bash tests/fixtures/engine/toy_experiment.sh "$D/one.json" toy "$TOY_TESTS" \
  '[{"name": "modx-a5", "strategy": "modx", "alpha": 5}, "finetune"]' '{"test_set": "red", "pairs": 4}' "$TRAIN"
"$MODX" continual "$D/one.json" --strategy modx-a5 --out "$TMP/one" --no-report --quiet > /dev/null
cmp "$TMP/one/modx-a5/phase2/model.safetensors" "$TMP/run/modx-a5/phase2/model.safetensors"
"$MODX" continual --resume "$TMP/one" --strategy finetune --no-report --quiet > /dev/null
cmp "$TMP/one/finetune/phase2/model.safetensors" "$TMP/run/finetune/phase2/model.safetensors"

# bad variants: refused before any training, naming file, entry and key
bad() { # STRATEGIES EXPECTED...
  local list=$1; shift
  bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TOY_TESTS" "$list" '{"test_set": "red", "pairs": 4}' "$TRAIN"
  rm -rf "$TMP/badrun"
  if "$MODX" run "$D/bad.json" --out "$TMP/badrun" --quiet > "$TMP/bout" 2> "$TMP/berr"; then
    echo "accepted: $list"; exit 1
  fi
  for want in "$@"; do grep -qF -- "$want" "$TMP/berr" || { echo "missing '$want' in:"; cat "$TMP/berr"; exit 1; }; done
  [ ! -e "$TMP/badrun/phase0/model.safetensors" ] || { echo "trained before refusing: $list"; exit 1; }
}
bad '[{"name": "m", "strategy": "modx", "alhpa": 5}]' "bad.json" "'strategies[0]' (m)" "unknown key 'alhpa'" "alpha"
bad '["finetune", {"name": "m", "strategy": "modx", "alpha": "5"}]' "bad.json" "'strategies[1]' (m).alpha" "expected a number, found a string"
bad '[{"name": "m", "strategy": "modx", "alpha": -1}]' "bad.json" "'strategies[0]' (m).alpha" "[0, 1e+06]"
bad '[{"name": "m", "strategy": "modz"}]' "bad.json" "'strategies[0]' (m)" "unknown strategy 'modz'"
bad '[{"name": "m/x", "strategy": "modx"}]' "bad.json" "name 'm/x'"
bad '[{"strategy": "modx", "alpha": 2}, "modx"]' "bad.json" "'modx' is listed twice"
bad '[{"name": "l", "strategy": "lwf", "alpha": 2}]' "bad.json" "unknown key 'alpha'" "lambda, tau"
bad '["joint", {"name": "finetune", "strategy": "modx"}]' "bad.json" "name 'finetune' is the name of another strategy"
bad '[{"name": "metrics.jsonl", "strategy": "modx"}]' "bad.json" "name 'metrics.jsonl'"
echo ok
