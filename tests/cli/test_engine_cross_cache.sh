# Phase 0 from one dataset cache, the stream from another: joint's batches mix
# both (over an epoch: every image of both once, or the "shares"); replay's
# buffer starts with phase 0's pairs of the other cache; EWC's Fisher runs on
# them; a run killed with SIGKILL and resumed ends byte-identical. Caches that
# differ in image size, context length or tokenizer are refused before any
# training, naming both datasets and the field.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
grep '"domain": "red"' "$D/manifest.jsonl" > "$D/a.jsonl"     # 12 train + 4 test
grep -v '"domain": "red"' "$D/manifest.jsonl" > "$D/b.jsonl"  # green, blue: 24 train + 8 test
prep() { # manifest out [extra options]
  local in=$1 out=$2; shift 2
  "$MODX" data prepare --format manifest --input "$in" --vocab "$D/bpe.txt" --size 16 --context 8 --out "$out" "$@" > /dev/null
}
prep "$D/a.jsonl" "$D/A"
prep "$D/b.jsonl" "$D/B"
exp() { # out.json cache-B strategies extra-top-level-keys
  cat > "$1" <<JSON
{"name": "cross", "model": "$PWD/tests/fixtures/engine/micro.json", "tokenizer": "$D/bpe.txt",
 "datasets": {"a": {"cache": "$D/A"}, "b": {"cache": "$2"}},
 "phase0": {"dataset": "a", "split": "train", "epochs": 1},
 "stream": {"dataset": "b", "split": "train", "mode": "domain", "domains": ["green", "blue"]},
 "test_sets": [{"name": "red", "dataset": "a", "split": "test"},
               {"name": "blue", "dataset": "b", "split": "test", "domains": ["blue"]}],
 "strategies": $3,
 $4
 "probe": {"test_set": "red", "pairs": 4},
 "train": {"epochs": 1, "batch": 4, "lr": 1e-3, "buffer": 100, "replay_fraction": 0.5, "ewc_lambda": 100,
           "checkpoint_every": 2, "log_every": 1, "eval_batch": 8}}
JSON
}
# The trace lines are "LABEL PHASE STEP C:I ...": C = 0 the stream's cache (b), 1 phase 0's (a).
count() { grep "^$1 " "$TMP/trace" | tr ' ' '\n' | grep -c "^$2:" || true; }

# 1. uniform joint: one epoch of 36 images = 9 batches, each image of both caches exactly once
exp "$D/u.json" "$D/B" '["joint"]' ''
MODX_TEST_TRACE_BATCHES="$TMP/trace" "$MODX" run "$D/u.json" --out "$TMP/u" --quiet > /dev/null
[ "$(grep -c '^joint 2 ' "$TMP/trace")" -eq 9 ]
[ "$(count joint 1)" -eq 12 ] && [ "$(count joint 0)" -eq 24 ]
[ "$(grep '^joint ' "$TMP/trace" | tr ' ' '\n' | grep ':' | sort | uniq -d | wc -l)" -eq 0 ]
grep -q '"type": "step", "strategy": "joint", "phase": 2, "step": 9, "steps": 9' "$TMP/u/metrics.jsonl"
rm -f "$TMP/trace"

# 2. shares a:b = 1:3: one sample of a and three of b in every batch, 9 and 27 over the epoch
exp "$D/exp.json" "$D/B" '["joint", "replay", "ewc"]' '"shares": {"a": 1, "b": 3},'
MODX_TEST_TRACE_BATCHES="$TMP/trace" "$MODX" run "$D/exp.json" --out "$TMP/a" --quiet > /dev/null
[ "$(count joint 1)" -eq 9 ] && [ "$(count joint 0)" -eq 27 ]
[ "$(grep '^joint ' "$TMP/trace" | awk '{print $4}' | grep -vc '^1:' || true)" -eq 0 ]  # a's sample first
# replay phase 1: 2 new pairs (b) + 2 replayed, which can only be phase 0's (a)
[ "$(grep -c '^replay 1 ' "$TMP/trace")" -eq 6 ]
[ "$(grep '^replay 1 ' "$TMP/trace" | awk '{print $4 $5}' | grep -c '1:' || true)" -eq 0 ]
[ "$(grep '^replay 1 ' "$TMP/trace" | awk '{print $6 "\n" $7}' | grep -vc '^1:' || true)" -eq 0 ]
# replay phase 2 still draws phase 0's pairs
[ "$(grep '^replay 2 ' "$TMP/trace" | awk '{print $6 "\n" $7}' | grep -c '^1:' || true)" -gt 0 ]
# EWC phase 1: the Fisher of phase 0's model on phase 0's data (cache a) gives a penalty
grep '"strategy": "ewc", "phase": 1, "step": 3,' "$TMP/a/metrics.jsonl" | grep -vq '"loss_kl": 0,'
[ -f "$TMP/a/ewc/phase2/probe.safetensors" ] && [ -f "$TMP/a/replay/phase2/replay.safetensors" ]

# 3. killed (SIGKILL) in joint, in replay and in EWC, resumed: byte-identical
rc=0; MODX_TEST_KILL_AFTER_STEPS=6 "$MODX" run "$D/exp.json" --out "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137), got $rc"; exit 1; }
[ -f "$TMP/b/joint/resume.safetensors" ]
for k in 9 11; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k "$MODX" run --resume "$TMP/b" --quiet > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps, got $rc"; exit 1; }
done
"$MODX" run --resume "$TMP/b" --quiet > /dev/null
same_run "$TMP/a" "$TMP/b" "after SIGKILL and resume"
[ "$SAME_FILES" -ge 20 ]

# 4. caches that cannot share a batch: refused before any training, naming both datasets and the field
refused() { # name cache-B field-text
  exp "$D/$1.json" "$2" '["joint"]' ''
  if "$MODX" run "$D/$1.json" --out "$TMP/$1" --quiet > /dev/null 2> "$TMP/$1.err"; then echo "$1: accepted"; exit 1; fi
  grep -q "$1.json: dataset 'a' ($D/A/dataset.cache) and dataset 'b' ($2/dataset.cache) cannot be mixed in one batch: $3" "$TMP/$1.err" ||
    { cat "$TMP/$1.err"; exit 1; }
  [ ! -f "$TMP/$1/run.json" ] && [ ! -d "$TMP/$1/phase0" ]
}
"$MODX" data prepare --format manifest --input "$D/b.jsonl" --vocab "$D/bpe.txt" --size 24 --context 8 --out "$D/S" --force > /dev/null
refused size "$D/S" "image size 16 px in the first, 24 px in the second"
"$MODX" data prepare --format manifest --input "$D/b.jsonl" --vocab "$D/bpe.txt" --size 16 --context 10 --out "$D/C" > /dev/null
refused context "$D/C" "context length 8 in the first, 10 in the second"
{ cat "$D/captions.txt"; echo "an extra line of words for another tokenizer"; } > "$D/other.txt"
"$MODX" tokenizer train --corpus "$D/other.txt" --size 600 --out "$D/bpe2.txt" > /dev/null
"$MODX" data prepare --format manifest --input "$D/b.jsonl" --vocab "$D/bpe2.txt" --size 16 --context 8 --out "$D/V" > /dev/null
refused vocab "$D/V" "tokenizer vocab CRC [0-9a-f]* in the first, [0-9a-f]* in the second"

# 5. "shares" checked: a dataset that is neither phase 0's nor the stream's, a missing share
exp "$D/m1.json" "$D/B" '["joint"]' '"shares": {"a": 1},'
if "$MODX" run "$D/m1.json" --out "$TMP/m1" 2> "$TMP/m1.err"; then exit 1; fi
grep -q "'shares': no share for dataset 'b'" "$TMP/m1.err"
exp "$D/m2.json" "$D/B" '["joint"]' '"shares": {"a": 1, "b": 0},'
if "$MODX" run "$D/m2.json" --out "$TMP/m2" 2> "$TMP/m2.err"; then exit 1; fi
grep -q "'shares.b'" "$TMP/m2.err"

# 6. a replay buffer whose ids are not pairs of the run's caches is refused before any step
rc=0; MODX_TEST_KILL_AFTER_STEPS=21 "$MODX" run "$D/exp.json" --out "$TMP/e" --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] && [ -f "$TMP/e/replay/resume.replay.safetensors" ]
python3 - "$TMP/e/replay/resume.replay.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
start = 8 + n + json.loads(b[8:8 + n])['image']['data_offsets'][0]
b[start:start + 8] = struct.pack('<q', 2**31 - 1)
open(p, 'wb').write(b)
PY
if "$MODX" run --resume "$TMP/e" --quiet > /dev/null 2> "$TMP/e.err"; then echo "bad replay ids accepted"; exit 1; fi
grep -q "replay phase 2: replay pair 0 (image 2147483647, caption [0-9]*) is not an image and one of its captions" "$TMP/e.err" ||
  { cat "$TMP/e.err"; exit 1; }
