# "seeds" and list-valued variant keys on the micro model: one `modx run` with
# "seeds": [0, 1] and {"name": "modx-a{alpha}", "alpha": [1, 5]} runs every
# strategy (phase 0 included) once per seed into RUN_DIR/seed-S, each folder
# byte-identical to a plain run of that seed with the variants written out;
# RUN_DIR gets the mean ± sd aggregates, which tools/cl_metrics.py recomputes.
# A run killed with SIGKILL (in either seed) and resumed ends byte-identical.
# Bad values are refused before any training, naming the file and the key.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 3}'
PROBE='{"test_set": "red", "pairs": 4}'
LISTED='["joint", "finetune", {"name": "modx-a{alpha}", "strategy": "modx", "alpha": [1, 5]}]'
# exp.json: the list and "seeds"; one.json: the variants written out, train.seed 1, no "seeds"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "$TOY_TESTS" "$LISTED" "$PROBE" "$TRAIN"
sed -i 's/^ "train":/ "seeds": [0, 1],\n "train":/' "$D/exp.json"
grep -q '"seeds": \[0, 1\]' "$D/exp.json"
bash tests/fixtures/engine/toy_experiment.sh "$D/one.json" toy "$TOY_TESTS" \
  '["joint", "finetune", {"name": "modx-a1", "strategy": "modx", "alpha": 1}, {"name": "modx-a5", "strategy": "modx", "alpha": 5}]' \
  "$PROBE" '{"epochs": 2, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 3, "seed": 1}'

"$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > "$TMP/a.out"
[ ! -e "$TMP/a/run.json" ] || { echo "a run with seeds has a run.json of its own"; exit 1; }
for f in experiment.json summary.json summary.md results.md report.html seed-0/run.json seed-1/report.html; do
  [ -s "$TMP/a/$f" ] || { echo "missing $f"; exit 1; }
done
grep -q '"seeds":' "$TMP/a/experiment.json"
! grep -q '"seeds"' "$TMP/a/seed-0/experiment.json"
grep -q '| modx-a5 |' "$TMP/a.out"
for s in 0 1; do for v in joint finetune modx-a1 modx-a5; do
  [ -f "$TMP/a/seed-$s/$v/phase2/model.safetensors" ] || { echo "seed $s: no $v phase-2 checkpoint"; exit 1; }
done; done
# phase 0 per seed
! cmp -s "$TMP/a/seed-0/phase0/model.safetensors" "$TMP/a/seed-1/phase0/model.safetensors"
# seed 1's folder is the plain run of seed 1 with the variants written out, file for file
"$MODX" run "$D/one.json" --out "$TMP/one" --quiet > /dev/null
# (the toy dataset is prepared once, by the first seed's run; seed 1 reads that cache)
grep -q "\"cache\":.*$TMP/a/seed-0/data/toy.cache" "$TMP/a/seed-1/experiment.json"
[ -s "$TMP/a/seed-0/data/toy.cache" ] && [ ! -e "$TMP/a/seed-1/data" ]
n=0
for f in $(cd "$TMP/one" && find . -name '*.safetensors' | sort) results.csv results.md; do
  cmp "$TMP/one/$f" "$TMP/a/seed-1/$f"; n=$((n + 1))
done
[ "$n" -ge 20 ] || { echo "only $n files compared"; exit 1; }
diff <(metrics_sans_timings "$TMP/one/metrics.jsonl") <(metrics_sans_timings "$TMP/a/seed-1/metrics.jsonl")
# eval_s beside train_s: every phase's evaluation time, in the compute record
grep -q '"eval_s": ' "$TMP/a/seed-0/metrics.jsonl"
python3 - "$TMP/a/seed-0/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for name, x in s["strategies"].items():
    assert x["compute"]["eval_wall_s"] is not None and x["compute"]["eval_wall_s"] > 0, (name, x["compute"])
    assert x["compute"]["train_wall_s"] is not None, (name, x["compute"])
assert s["phase0"]["compute"]["eval_wall_s"] > 0
PY
# the aggregates: figures recomputed per seed, then mean and sd
python3 tools/cl_metrics.py "$TMP/a/summary.json" | tee "$TMP/check"
grep -q '^agree to 1e-06: 4 strategies, seeds \[0, 1\]$' "$TMP/check"
grep -q '^| modx-a1 | .* ± ' "$TMP/a/results.md"
grep -q '^| phase0 | .* ± ' "$TMP/a/results.md"
# the one mean of results.md: over the domain test sets (here all three), named so
grep -q '^| strategy | red | green | blue | mean of domains |$' "$TMP/a/results.md"
grep -q 'class="error-bars"' "$TMP/a/report.html"
grep -q 'mean ± sd over seeds' "$TMP/a/report.html"
# modx report RUN_DIR on the top folder writes the same aggregates again
cp "$TMP/a/results.md" "$TMP/results.first"
rm "$TMP/a/results.md" "$TMP/a/summary.json" "$TMP/a/report.html"
"$MODX" report "$TMP/a" > /dev/null
cmp "$TMP/results.first" "$TMP/a/results.md"
[ -s "$TMP/a/summary.json" ] && [ -s "$TMP/a/report.html" ]
# modx analyze RUN_DIR analyses every seed's run
rm "$TMP/a/seed-0/analysis.json" "$TMP/a/seed-1/analysis.json"
"$MODX" analyze "$TMP/a" > /dev/null
[ -s "$TMP/a/seed-0/analysis.json" ] && [ -s "$TMP/a/seed-1/analysis.json" ]

# SIGKILL in seed 0 (phase 0, between checkpoints), then in seed 1, then resume to the end
rc=0; MODX_TEST_KILL_AFTER_STEPS=5 "$MODX" run "$D/exp.json" --out "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137), got $rc"; exit 1; }
for k in 37 40; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k "$MODX" run --resume "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps, got $rc"; exit 1; }
done
[ -d "$TMP/b/seed-1" ] || { echo "the kills never reached seed 1"; exit 1; }
"$MODX" run --resume "$TMP/b" --quiet > /dev/null
n=0
for f in $(cd "$TMP/a" && find . -name '*.safetensors' | sort) seed-0/results.csv seed-1/results.csv results.md; do
  cmp "$TMP/a/$f" "$TMP/b/$f"; n=$((n + 1))
done
echo "$n files identical after SIGKILL and resume"
[ "$n" -ge 40 ]
[ -z "$(cd "$TMP/b" && find . -name 'resume*')" ] || { echo "resume files left"; exit 1; }
for s in 0 1; do
  diff <(metrics_sans_timings "$TMP/a/seed-$s/metrics.jsonl") <(metrics_sans_timings "$TMP/b/seed-$s/metrics.jsonl")
done
# a finished run with seeds resumes to nothing more and prints the aggregate table
"$MODX" run --resume "$TMP/a" --no-report | grep -q '| modx-a5 |'

# bad values: refused before any training, naming the file and the key
bad() { # STRATEGIES EXTRA_TOP_LEVEL EXPECTED...
  local list=$1 extra=$2; shift 2
  bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TOY_TESTS" "$list" "$PROBE" \
    '{"epochs": 2, "batch": 4, "lr": 1e-3, "eval_batch": 8}'
  [ -z "$extra" ] || sed -i "s/^ \"train\":/ $extra,\n \"train\":/" "$D/bad.json"
  rm -rf "$TMP/badrun"
  if "$MODX" run "$D/bad.json" --out "$TMP/badrun" --quiet > "$TMP/bout" 2> "$TMP/berr"; then
    echo "accepted: $list $extra"; exit 1
  fi
  for want in "$@"; do grep -qF -- "$want" "$TMP/berr" || { echo "missing '$want' in:"; cat "$TMP/berr"; exit 1; }; done
  [ -z "$(find "$TMP/badrun" -name 'model.safetensors' 2>/dev/null)" ] || { echo "trained before refusing: $list $extra"; exit 1; }
}
bad '["finetune"]' '"seeds": []' "bad.json" "'seeds'" "non-empty list"
bad '["finetune"]' '"seeds": 3' "bad.json" "'seeds'" "found a number"
bad '["finetune"]' '"seeds": [0, 1.5]' "bad.json" "'seeds[1]'" "an integer"
bad '["finetune"]' '"seeds": [0, "1"]' "bad.json" "'seeds[1]'" "found a string"
bad '["finetune"]' '"seeds": [2, -1]' "bad.json" "'seeds[1]'" "[0, 2147483647]"
bad '["finetune"]' '"seeds": [1, 2, 1]' "bad.json" "'seeds'" "seed 1 is listed twice"
bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "$TOY_TESTS" '["finetune"]' "$PROBE" '{"seed": 3}'
sed -i 's/^ "train":/ "seeds": [0],\n "train":/' "$D/bad.json"
! "$MODX" run "$D/bad.json" --out "$TMP/badrun2" --quiet 2> "$TMP/berr"
grep -qF "bad.json: 'train.seed' and 'seeds' are both given" "$TMP/berr"
! "$MODX" run "$D/exp.json" --out "$TMP/badrun3" --seed 4 --quiet 2> "$TMP/berr"
grep -qF -- '--seed' "$TMP/berr" && grep -qF 'exp.json lists "seeds"' "$TMP/berr"
[ ! -e "$TMP/badrun3/seed-0" ]
bad '[{"name": "m-{alpha}", "strategy": "modx", "alpha": []}]' '' "bad.json" "'strategies[0]' (m-{alpha}).alpha" "empty list"
bad '[{"name": "m-{alpha}", "strategy": "modx", "alpha": [1, true]}]' '' "'strategies[0]' (m-{alpha}).alpha[1]" "found a boolean"
bad '[{"name": "m-{alpha}", "strategy": "modx", "alpha": [1, "x"]}]' '' "(m-x).alpha" "expected a number, found a string"
bad '[{"name": "m-{alpha}", "strategy": "modx", "alpha": [1, 5, 1]}]' '' "'strategies[0]' (m-{alpha}).alpha" "the value at [0] is listed again at [2]"
bad '[{"name": "c-{policy}", "strategy": "cumulative", "policy": ["equal", "equal"]}]' '' "(c-{policy}).policy" "listed again at [1]"
bad '[{"name": "c-{policy}", "strategy": "cumulative", "policy": ["equal", "newest"]}]' '' "(c-newest).policy"
bad '["finetune", {"name": "m", "strategy": "modx", "alpha": [1, 5]}]' '' "'strategies[1]' (m)" "needs {alpha} in the name"
bad '[{"name": "m-{alpha}", "strategy": "modx", "alpha": [1, 2e6]}]' '' "'strategies[0]' (m-2e+06).alpha" "[0, 1e+06]"
bad '[{"name": "m-{beta}", "strategy": "modx", "alpha": [1, 5]}]' '' "needs {alpha} in the name"
bad '[{"name": "m-{alpha}-{beta}", "strategy": "modx", "alpha": [1, 5]}]' '' "'{beta}' is not a hyperparameter key of this variant"
bad '[{"name": "m-{alpha}", "strategy": ["modx", "lwf"], "alpha": [1, 5]}]' '' "'strategy': expected a string, found an array"
bad '[{"name": ["a", "b"], "strategy": "modx"}]' '' "'name': expected a string, found an array"
bad '[{"name": "l-{lambda}", "strategy": "lwf", "alpha": [1, 5]}]' '' "unknown key 'alpha'" "lambda, tau"
bad '[{"name": "modx-a1", "strategy": "modx"}, {"name": "modx-a{alpha}", "strategy": "modx", "alpha": [5, 1]}]' '' "'modx-a1' is listed twice"
# several list keys: their cartesian product, the first key varying slowest
bash tests/fixtures/engine/toy_experiment.sh "$D/grid.json" toy "$TOY_TESTS" \
  '[{"name": "r{buffer}-f{fraction}", "strategy": "replay", "buffer": [4, 8], "fraction": [0.25, 0.5, 0.75]}]' "$PROBE" "$TRAIN"
"$MODX" run "$D/grid.json" --out "$TMP/grid" --quiet --no-report > /dev/null
python3 - "$TMP/grid/run.json" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))["strategies"]
want = ["r4-f0.25", "r4-f0.5", "r4-f0.75", "r8-f0.25", "r8-f0.5", "r8-f0.75"]
assert got == want, got
PY
grep -q '"fraction":	0.75' "$TMP/grid/experiment.json"
# a list of named values (a policy) expands the same way, the name taking the value as it is
bash tests/fixtures/engine/toy_experiment.sh "$D/named.json" toy "$TOY_TESTS" \
  '[{"name": "c-{policy}", "strategy": "cumulative", "policy": ["equal", "exponential"], "buffer": 8}]' "$PROBE" "$TRAIN"
"$MODX" run "$D/named.json" --out "$TMP/named" --quiet --no-report > /dev/null
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["strategies"]; assert s == ["c-equal", "c-exponential"], s' \
  "$TMP/named/run.json"
grep -q '"policy":	"exponential"' "$TMP/named/experiment.json"
echo ok
