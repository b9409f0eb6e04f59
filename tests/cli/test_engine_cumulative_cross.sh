# cumulative and oracle with phase 0 in one dataset cache and the stream in
# another: the replayed earlier phases include phase 0's pairs of the other
# cache (the run's cache set), within the budget and split by the policy.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
grep '"domain": "red"' "$D/manifest.jsonl" > "$D/a.jsonl"     # 12 train + 4 test
grep -v '"domain": "red"' "$D/manifest.jsonl" > "$D/b.jsonl"  # green, blue: 24 train + 8 test
for x in a b; do
  "$MODX" data prepare --format manifest --input "$D/$x.jsonl" --vocab "$D/bpe.txt" --size 16 --context 8 \
    --out "$D/$x.cache" > /dev/null
done
cat > "$D/exp.json" <<JSON
{"name": "cross", "model": "$PWD/tests/fixtures/engine/micro.json", "tokenizer": "$D/bpe.txt",
 "datasets": {"a": {"cache": "$D/a.cache"}, "b": {"cache": "$D/b.cache"}},
 "phase0": {"dataset": "a", "split": "train", "epochs": 1},
 "stream": {"dataset": "b", "split": "train", "mode": "domain", "domains": ["green", "blue"]},
 "test_sets": [{"name": "red", "dataset": "a", "split": "test"},
               {"name": "blue", "dataset": "b", "split": "test", "domains": ["blue"]}],
 "strategies": ["oracle", {"name": "cum-eq", "strategy": "cumulative", "buffer": 8, "policy": "equal",
                           "steps": "proportional"}],
 "probe": {"test_set": "red", "pairs": 4},
 "train": {"epochs": 1, "batch": 4, "lr": 1e-3, "checkpoint_every": 2, "log_every": 1, "eval_batch": 8}}
JSON
MODX_TEST_TRACE_BATCHES="$TMP/trace" "$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
# "LABEL PHASE STEP C:I ...": C = 0 the stream's cache (b), 1 phase 0's (a); distinct pairs per cache
count() { grep "^$1 $2 " "$TMP/trace" | cut -d' ' -f4- | tr ' ' '\n' | grep "^$3:" | sort -u | wc -l; }
dups() { grep "^$1 $2 " "$TMP/trace" | cut -d' ' -f4- | tr ' ' '\n' | sort | uniq -d | wc -l; }
# oracle, phase 2: one epoch over a's 12 and b's 24 (green, blue): 9 steps, each image once
[ "$(grep -c '^oracle 2 ' "$TMP/trace")" -eq 9 ]
[ "$(count oracle 2 1)" -eq 12 ] && [ "$(count oracle 2 0)" -eq 24 ] && [ "$(dups oracle 2)" -eq 0 ]
# cumulative, phase 1: 8 of phase 0's (cache a) + the 12 new; phase 2: 4 of phase 0's, 4 of phase 1's, 12 new
[ "$(count cum-eq 1 1)" -eq 8 ] && [ "$(count cum-eq 1 0)" -eq 12 ] && [ "$(dups cum-eq 1)" -eq 0 ]
[ "$(count cum-eq 2 1)" -eq 4 ] && [ "$(count cum-eq 2 0)" -eq 16 ] && [ "$(dups cum-eq 2)" -eq 0 ]
echo ok
