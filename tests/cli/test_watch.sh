# modx watch: a folder of webdataset shards that grows. 2 complete shards make
# phase 1, 3 more phase 2; a shard without its NAME.tar.done marker (still
# being written) is not read, nor shards holding less than one batch. A run
# SIGKILLed during phase 1 and phase 2 (between resume checkpoints too, and
# during evaluations) and started again ends with the same files as an
# uninterrupted one: every checkpoint, cache, results file and watch.json
# byte-identical, metrics.jsonl equal but for timings. latest.safetensors is a
# complete checkpoint every time it is looked at while a run trains. SIGTERM
# stops after the step (exit 143) and the next start finishes to the same
# files. Unsafe shards, experiments watch cannot run and a changed experiment
# or folder are errors naming what is wrong.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
# 5 shards of 8 samples (a .png and a .txt each) from the toy manifest's train images
python3 - "$D/manifest.jsonl" "$TMP/shards" <<'PY'
import io, json, os, sys, tarfile
items = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
items = [it for it in items if it["split"] == "train"]
os.makedirs(sys.argv[2], exist_ok=True)
for s in range(5):
    with tarfile.open(os.path.join(sys.argv[2], "shard-%d.tar" % s), "w", format=tarfile.GNU_FORMAT) as t:
        for k, it in enumerate(items[s * 7:s * 7 + 8]):
            for name, data in (("s%d_%02d.png" % (s, k), open(it["image"], "rb").read()),
                               ("s%d_%02d.txt" % (s, k), it["captions"][k % 2].encode())):
                info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 0
                t.addfile(info, io.BytesIO(data))
PY
M=$(cd tests/fixtures/engine && pwd)/micro.json
exp() { # OUT.json STRATEGIES [EXTRA]
  cat > "$1" <<JSON
{"name": "watch", "model": "$M", "tokenizer": "bpe.txt",
 "datasets": {"toy": {"format": "manifest", "input": "manifest.jsonl"}},
 "test_sets": [{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"], "role": "heldout"},
               {"name": "blue", "dataset": "toy", "split": "test", "domains": ["blue"], "role": "heldout"},
               {"name": "colours", "dataset": "toy", "split": "test", "role": "zeroshot"}],
 "strategies": $2 ${3:-},
 "train": {"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "checkpoint_every": 3, "log_every": 1, "eval_batch": 8}}
JSON
}
exp "$D/exp.json" '["modx"]'
W="$TMP/in"; mkdir -p "$W"
add_to() { local w=$1; shift; for s in "$@"; do cp "$TMP/shards/shard-$s.tar" "$w/"; : > "$w/shard-$s.tar.done"; done; }
add() { add_to "$W" "$@"; }
watch() { "$MODX" watch "$W" --experiment "$D/exp.json" --min-shards 2 --once --quiet "$@"; }
phases() { grep -c '"phase":' "$1/watch.json" || true; }

# --help lists every option with its default
"$MODX" watch --help > "$TMP/help"
for opt in --experiment --out "--min-shards K.*default 1" "--once.*default" "--interval SECONDS.*default 10" \
           "--quiet.*default" --max-memory NAME.tar.done; do
  grep -q -- "$opt" "$TMP/help" || { echo "watch --help lacks '$opt'"; exit 1; }
done

# stage 1: two complete shards and one still being written (no marker, cut short)
add 0 1
head -c 3000 "$TMP/shards/shard-2.tar" > "$W/shard-2.tar"
watch --out "$TMP/a"
[ "$(phases "$TMP/a")" -eq 1 ] || { cat "$TMP/a/watch.json"; exit 1; }
# the zero-shot set is classified after phase 0 and phase 1 (not scored by retrieval)
[ "$(grep -c '"type": "zeroshot", "strategy": "[a-z0-9]*", "phase": [01], "test_set": "colours"' "$TMP/a/metrics.jsonl")" -eq 2 ] ||
  { echo "no zero-shot line per phase"; grep colours "$TMP/a/metrics.jsonl"; exit 1; }
! grep -q '"type": "eval".*"test_set": "colours"' "$TMP/a/metrics.jsonl" || { echo "zero-shot set scored by retrieval"; exit 1; }
grep -q '"shard-0.tar"' "$TMP/a/watch.json" && grep -q '"shard-1.tar"' "$TMP/a/watch.json"
! grep -q '"shard-2.tar"' "$TMP/a/watch.json" || { echo "a shard without its marker was taken"; exit 1; }
cmp "$TMP/a/latest.safetensors" "$TMP/a/modx/phase1/model.safetensors"
grep -q '"strategy": "modx", "phase": 1, "test_set": "blue"' "$TMP/a/metrics.jsonl"
# nothing new: --once does nothing more
watch --out "$TMP/a"
[ "$(phases "$TMP/a")" -eq 1 ]
# b: the same, killed during phase 1 (steps 2 and then 4: before and after a resume checkpoint)
for k in 2 4; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k watch --out "$TMP/b" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps, got $rc"; exit 1; }
done
# then killed while phase 1 is evaluated (its training done)
rc=0; MODX_TEST_KILL_AFTER_EVALS=1 watch --out "$TMP/b" > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) during the evaluation, got $rc"; exit 1; }
watch --out "$TMP/b"
cmp "$TMP/a/modx/phase1/model.safetensors" "$TMP/b/modx/phase1/model.safetensors"

# stage 2: the cut shard completed, three new shards -> phase 2
rm "$W/shard-2.tar"
add 2 3 4
watch --out "$TMP/a"
[ "$(phases "$TMP/a")" -eq 2 ] || { cat "$TMP/a/watch.json"; exit 1; }
for s in 2 3 4; do grep -q "\"shard-$s.tar\"" "$TMP/a/watch.json"; done
cmp "$TMP/a/latest.safetensors" "$TMP/a/modx/phase2/model.safetensors"
for k in 5 4 3; do
  rc=0; MODX_TEST_KILL_AFTER_STEPS=$k watch --out "$TMP/b" > /dev/null 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) after $k steps in phase 2, got $rc"; exit 1; }
done
[ -f "$TMP/b/modx/resume.safetensors" ] || { echo "no resume checkpoint after the kills"; exit 1; }
watch --out "$TMP/b"
same_as_a() { # RUN_DIR
  local n=0
  for f in $(cd "$TMP/a" && find . -name '*.safetensors' -o -name '*.cache' | sort) results.csv results.md \
           experiment.json; do
    cmp "$TMP/a/$f" "$1/$f"; n=$((n + 1))
  done
  [ -z "$(cd "$1" && find . -name 'resume*')" ] || { echo "$1: resume files left"; exit 1; }
  diff <(metrics_sans_timings "$TMP/a/metrics.jsonl") <(metrics_sans_timings "$1/metrics.jsonl")
  diff <(grep -Ev '"(dir|metrics_bytes)":' "$TMP/a/watch.json") <(grep -Ev '"(dir|metrics_bytes)":' "$1/watch.json")
  echo "$1: $n files identical"
  [ "$n" -ge 12 ]
}
same_as_a "$TMP/b"

# c: keeps watching (polling) a second folder that grows as the first did, while a
# loop checks latest.safetensors each time it is there; SIGTERM ends it. It is
# started again with --min-shards 3 for the second stage, so that phase 2 waits
# for all three shards however the copies interleave with its looks.
W2="$TMP/in2"; mkdir -p "$W2"
done_phases() { grep -c '"status":	"done"' "$TMP/c/watch.json" 2>/dev/null || true; }
looks=0
poll_until() { # K PHASES [SHARDS...]: a polling watch that has just started, until PHASES phases are done, then SIGTERM
  local k=$1 want=$2; shift 2
  "$MODX" watch "$W2" --experiment "$D/exp.json" --min-shards $k --interval 0.2 --out "$TMP/c" --quiet \
    > /dev/null 2> "$TMP/c.err" & pid=$!
  add_to "$W2" "$@"
  for _ in $(seq 3000); do
    kill -0 $pid 2>/dev/null || { echo "watch ended early:"; cat "$TMP/c.err"; exit 1; }
    if [ -f "$TMP/c/latest.safetensors" ]; then
      "$MODX" inspect "$TMP/c/latest.safetensors" > /dev/null || { echo "latest.safetensors is not a complete checkpoint"; exit 1; }
      looks=$((looks + 1))
    fi
    [ "$(done_phases)" = $want ] && break
  done
  [ "$(done_phases)" = $want ] || { echo "phase $want never came"; exit 1; }
  # a second writer of the same run folder is refused, naming the holder
  if "$MODX" watch "$W2" --experiment "$D/exp.json" --once --out "$TMP/c" 2> "$TMP/lock.err"; then echo "second writer ran"; exit 1; fi
  grep -q "pid $pid" "$TMP/lock.err" || { cat "$TMP/lock.err"; exit 1; }
  kill -TERM $pid; rc=0; wait $pid || rc=$?
  [ "$rc" -eq 143 ] || { echo "SIGTERM while polling: expected 143, got $rc"; cat "$TMP/c.err"; exit 1; }
  grep -q "stopped by signal 15" "$TMP/c.err"
}
poll_until 2 1 0 1
poll_until 3 2 2 3 4
echo "latest.safetensors checked $looks times while training"
[ "$looks" -ge 3 ]
same_as_a "$TMP/c"

# d: SIGTERM during the training of phase 1 and of phase 2 stops after the step with a
# resume checkpoint (or the phase ends first: exit 0); the next start finishes
W3="$TMP/in3"; mkdir -p "$W3"
term_during() { # PHASE
  "$MODX" watch "$W3" --experiment "$D/exp.json" --min-shards 2 --once --out "$TMP/d" --quiet > /dev/null 2>&1 & pid=$!
  for _ in $(seq 400); do
    grep -q "\"type\": \"step\", \"strategy\": \"modx\", \"phase\": $1" "$TMP/d/metrics.jsonl" 2>/dev/null && break; sleep 0.02
  done
  kill -TERM $pid; rc=0; wait $pid || rc=$?
  [ "$rc" -eq 143 ] || [ "$rc" -eq 0 ] || { echo "SIGTERM during phase $1: expected 143, got $rc"; exit 1; }
  # stopped mid-phase: a resume checkpoint; a signal after the last step lets the phase finish first
  [ -f "$TMP/d/modx/resume.safetensors" ] || [ "$(grep -c '"status":	"done"' "$TMP/d/watch.json")" -eq $1 ] ||
    { echo "SIGTERM in phase $1: neither a resume checkpoint nor the phase done"; exit 1; }
  "$MODX" watch "$W3" --experiment "$D/exp.json" --min-shards 2 --once --out "$TMP/d" --quiet
}
add_to "$W3" 0 1
# killed while phase 0 is evaluated
rc=0; MODX_TEST_KILL_AFTER_EVALS=1 "$MODX" watch "$W3" --experiment "$D/exp.json" --min-shards 2 --once --out "$TMP/d" \
  --quiet > /dev/null 2>&1 || rc=$?
[ "$rc" -eq 137 ] || { echo "expected SIGKILL (137) during phase 0's evaluation, got $rc"; exit 1; }
term_during 1
add_to "$W3" 2 3 4
term_during 2
same_as_a "$TMP/d"

# a restart with another experiment or another folder is refused
exp "$D/exp2.json" '["finetune"]'
if "$MODX" watch "$W" --experiment "$D/exp2.json" --once --out "$TMP/a" 2> "$TMP/err"; then echo "changed experiment ran"; exit 1; fi
grep -q "this run was started with another experiment" "$TMP/err" || { cat "$TMP/err"; exit 1; }
mkdir -p "$TMP/other"
if watch --out "$TMP/a" 2> /dev/null; then :; fi
if "$MODX" watch "$TMP/other" --experiment "$D/exp.json" --once --out "$TMP/a" 2> "$TMP/err"; then echo "other folder ran"; exit 1; fi
grep -q "this run watches $W" "$TMP/err" || { cat "$TMP/err"; exit 1; }
# experiments watch cannot run
refuse_exp() { # STRATEGIES EXTRA MESSAGE
  exp "$D/bad.json" "$1" "$2"
  if "$MODX" watch "$W" --experiment "$D/bad.json" --once --out "$TMP/bad" 2> "$TMP/err"; then echo "ran: $1 $2"; exit 1; fi
  grep -q -- "$3" "$TMP/err" || { echo "expected '$3':"; cat "$TMP/err"; exit 1; }
}
refuse_exp '["finetune", "modx"]' '' "modx watch trains one strategy, found 2"
refuse_exp '["joint"]' '' "'joint' trains once on all the data"
refuse_exp '["modx+replay"]' '' "'modx+replay' keeps past phases' images by their place in one cache"
refuse_exp '["modx"]' ', "phase0": {"dataset": "toy"}' "it does not train phase 0 on a dataset"
# a minimal experiment: no datasets, no stream, no test sets, a starting checkpoint
cat > "$D/min.json" <<JSON
{"name": "min", "model": "$M", "tokenizer": "bpe.txt", "phase0": {"checkpoint": "$TMP/a/modx/phase1/model.safetensors"},
 "strategies": ["finetune"], "train": {"epochs": 1, "batch": 4, "log_every": 1}}
JSON
"$MODX" watch "$W" --experiment "$D/min.json" --min-shards 5 --once --quiet --out "$TMP/m"
[ "$(phases "$TMP/m")" -eq 1 ]
cmp "$TMP/m/phase0/model.safetensors" "$TMP/a/modx/phase1/model.safetensors" 2>/dev/null ||
  "$MODX" inspect "$TMP/m/phase0/model.safetensors" > /dev/null
cmp "$TMP/m/latest.safetensors" "$TMP/m/finetune/phase1/model.safetensors"

# shards holding fewer images than one batch are not taken yet: they wait for more
S="$TMP/small"; mkdir -p "$S/src" "$S/in"
cp tests/fixtures/data/images/red.png "$S/src/one.png"; echo "a red thing" > "$S/src/one.txt"
for n in 1 2 3 4; do
  tar cf "$S/in/s$n.tar" -C "$S/src" one.png one.txt; : > "$S/in/s$n.tar.done"
  "$MODX" watch "$S/in" --experiment "$D/exp.json" --once --out "$TMP/s" 2> "$TMP/s.err"
  if [ $n -lt 4 ]; then
    [ "$(phases "$TMP/s")" -eq 0 ] || { echo "$n one-image shards were taken with train.batch 4"; exit 1; }
    grep -q "phase 1: $n image(s) in $n shard(s), fewer than one batch (train.batch = 4); waiting" "$TMP/s.err" ||
      { cat "$TMP/s.err"; exit 1; }
  fi
done
[ "$(phases "$TMP/s")" -eq 1 ] && grep -q '"s4.tar"' "$TMP/s/watch.json"

# unsafe or bad shards: an error naming the shard and member, no phase recorded
python3 tools/make_wds_csv_fixtures.py "$TMP/fx" > /dev/null
for case in "dotdot.tar:member '../x.png': a name outside the archive root" \
            "absolute.tar:member '/abs/x.png': an absolute path" "symlink.tar:member 'a.png': a symbolic link" \
            "device.tar:member 'a.png': a device file" \
            "big_caption.tar:sample 'a': member 'a.txt' is 1048577 bytes, over the limit"; do
  f=${case%%:*}; msg=${case#*:}
  B="$TMP/bad_$f"; mkdir -p "$B"; cp "$TMP/fx/bad/$f" "$B/"; : > "$B/$f.done"
  if "$MODX" watch "$B" --experiment "$D/exp.json" --once --quiet --out "$TMP/r_$f" 2> "$TMP/err"; then
    echo "$f was trained"; exit 1; fi
  grep -q -- "$f: $msg" "$TMP/err" || { echo "$f: expected '$msg':"; cat "$TMP/err"; exit 1; }
  [ "$(phases "$TMP/r_$f")" -eq 0 ] || { echo "$f: a phase was recorded"; exit 1; }
done
echo "watch: ok"
