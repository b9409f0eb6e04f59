# The distilling strategies (Mod-X, its ablation, LwF, Mod-X with replay) read
# the frozen old model's features from a cache encoded once per phase
# (train.old_features "cache", the default): every checkpoint, replay buffer,
# result and step line is byte-identical to forwarding the old model every
# step ("per_step"), and the compute record counts the cache's one pass over
# the phase's images and captions instead of one per step. (The fall-back
# when the cache does not fit the memory budget: tests/test_featcache.c.)
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
TRAIN='"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "buffer": 6, "log_every": 1, "eval_batch": 8'
for mode in cache per_step; do
  bash tests/fixtures/engine/toy_experiment.sh "$D/$mode.json" toy-oldfeat \
    '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}]' \
    '["modx", "modx-noselect", "lwf", "modx+replay"]' '{"test_set": "red", "pairs": 4}' \
    "{$TRAIN, \"old_features\": \"$mode\"}"
  "$MODX" run "$D/$mode.json" --out "$TMP/$mode" --quiet --no-report > /dev/null
done
grep -q '"old_features":.*"per_step"' "$TMP/per_step/experiment.json"
same_files "$TMP/per_step" "$TMP/cache"
[ "$SAME_FILES" -ge 16 ]
steps() { grep '"type": "step"' "$1" | metrics_sans_timings /dev/stdin; }
diff <(steps "$TMP/cache/metrics.jsonl") <(steps "$TMP/per_step/metrics.jsonl")
[ "$(steps "$TMP/cache/metrics.jsonl" | wc -l)" -ge 40 ]
# frozen passes: per step, one per pair trained (2 epochs x 12 images); cached,
# (12 images + the 12 to 24 captions its two epochs draw) / 2 per phase, and
# with modx+replay's buffer of 6 pairs from phase 1 more.
frozen() { grep "\"strategy\": \"$2\", \"phase\": 2" "$1" | grep -o '"frozen_forward_passes": [0-9]*' | grep -o '[0-9]*$'; }
[ "$(frozen "$TMP/per_step/metrics.jsonl" modx)" -eq 24 ]
f=$(frozen "$TMP/cache/metrics.jsonl" modx)
[ "$f" -ge 12 ] && [ "$f" -le 18 ]
[ "$(frozen "$TMP/cache/metrics.jsonl" lwf)" -eq "$f" ]
[ "$(frozen "$TMP/cache/metrics.jsonl" modx+replay)" -gt "$f" ]
