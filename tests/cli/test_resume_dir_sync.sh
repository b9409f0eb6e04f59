# The renames that publish a resume checkpoint set are made durable: after the
# last one (resume.next.safetensors -> resume.safetensors) the folder is
# fsynced before training goes on (seen with strace; skipped without it; the
# leak checker cannot run under ptrace, so it is off for that one run).
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
command -v strace > /dev/null || { echo "strace not installed: skipped"; exit 0; }
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  "$TOY_TESTS" \
  '["finetune"]' '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 1, "batch": 4, "lr": 1e-3, "log_every": 1, "eval_batch": 8, "checkpoint_every": 1}'
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=rename,renameat,renameat2,fsync,openat -o "$TMP/trace" \
  "$MODX" run "$D/exp.json" --out "$TMP/run" --quiet --no-report > /dev/null
# every publication of resume.safetensors is followed by an open of its folder and an fsync
python3 - "$TMP/trace" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
pubs = [i for i, l in enumerate(lines) if re.search(r'rename.*resume\.next\.safetensors", .*resume\.safetensors"', l)]
assert pubs, "no resume checkpoint was published"
for i in pubs:
    pid = lines[i].split()[0]
    rest = [l for l in lines[i + 1:] if l.split()[0] == pid][:2]  # the very next calls
    fd = None
    for l in rest:
        m = re.search(r'openat\(.*O_DIRECTORY.*\) = (\d+)', l)
        if m: fd = m.group(1)
        if fd and re.search(r'fsync\(%s\)' % fd, l): break
    else:
        sys.exit("no folder fsync after: " + lines[i] + "\n" + "\n".join(rest))
print(len(pubs), "publications, each followed by a folder fsync")
PY
