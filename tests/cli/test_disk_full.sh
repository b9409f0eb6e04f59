# Disk full: `modx data prepare` and a small `modx run` on tmpfs file systems
# of 4 kB .. 16 MB. Every attempt either succeeds or exits 1 with "No space
# left" and the path (never a signal such as SIGBUS from a mapped file), leaves
# no temporary file, and a run continued after space is freed (its folder
# copied to a roomy disk and resumed) equals an uninterrupted run.
# Needs root to mount the tmpfs; skipped with a message otherwise.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
MNT="$TMP/mnt"
mkdir -p "$MNT"
if [ "$(id -u)" != 0 ]; then echo "skipped: mounting a small tmpfs needs root"; exit 0; fi
trap 'umount "$MNT" 2>/dev/null || true' EXIT
if ! mount -t tmpfs -o size=4k tmpfs "$MNT" 2>/dev/null; then echo "skipped: cannot mount a tmpfs here"; exit 0; fi
umount "$MNT"
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy-full \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]}]' '["finetune"]' \
  '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 8, "lr": 1e-3, "checkpoint_every": 2, "log_every": 1, "eval_batch": 8}'

# attempt SIZE CMD...: runs CMD on a fresh tmpfs of SIZE; prints "ok" or "full"
attempt() {
  local size=$1; shift
  mount -t tmpfs -o "size=$size" tmpfs "$MNT"
  local rc=0
  "$@" > "$TMP/out" 2> "$TMP/err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 1 ] || { echo "size $size: exit $rc (a signal?): $(cat "$TMP/err")" >&2; return 1; }
    grep -q "No space left" "$TMP/err" && grep -qF "$MNT/" "$TMP/err" \
      || { echo "size $size: expected 'No space left' and the path, got: $(cat "$TMP/err")" >&2; return 1; }
  fi
  local left
  left=$(find "$MNT" -name '*.tmp*')
  [ -z "$left" ] || { echo "size $size: temporary files left: $left" >&2; return 1; }
  if [ "$rc" -eq 0 ]; then echo ok; else echo full; fi
}

# the cache build: 48 images at 64 px need ~590 kB
n_full=0
for size in 4k 16k 64k 200k 400k 600k 1m 16m; do
  r=$(attempt $size "$MODX" data prepare --format manifest --input "$D/manifest.jsonl" --vocab "$D/bpe.txt" --size 64 \
      --out "$MNT/c")
  echo "prepare on $size: $r"
  [ "$r" = full ] && n_full=$((n_full + 1))
  [ "$size" != 16m ] || [ "$r" = ok ]
  umount "$MNT"
done
[ "$n_full" -ge 4 ]

# the run: an uninterrupted reference, then each size, continued on a roomy disk
"$MODX" run "$D/exp.json" --out "$TMP/ref" --quiet > /dev/null
for size in 4k 16k 64k 256k 512k 1m 16m; do
  r=$(attempt $size "$MODX" run "$D/exp.json" --out "$MNT/r" --quiet)
  echo "run on $size: $r"
  rm -rf "$TMP/big"
  if [ -e "$MNT/r/experiment.json" ]; then
    cp -a "$MNT/r" "$TMP/big"
    umount "$MNT"
    "$MODX" run --resume "$TMP/big" --quiet > /dev/null
  else # stopped before the run folder was resumable: a fresh start
    umount "$MNT"
    "$MODX" run "$D/exp.json" --out "$TMP/big" --quiet > /dev/null
  fi
  for f in $(cd "$TMP/ref" && find . -name '*.safetensors' | sort) data/toy.cache results.csv; do
    cmp "$TMP/ref/$f" "$TMP/big/$f"
  done
  diff <(metrics_sans_timings "$TMP/ref/metrics.jsonl") <(metrics_sans_timings "$TMP/big/metrics.jsonl")
done
