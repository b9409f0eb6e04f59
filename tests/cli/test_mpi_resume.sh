# Faults under data parallelism: one rank of `mpirun -np 2 modx run` killed
# with SIGKILL mid-phase ends the whole job within 30 s with a message naming
# that rank; `--resume` with 2 ranks then ends bit-identical to an
# uninterrupted 2-rank run (resume checkpoints are rank 0's, every rank loads
# them). A run started with 2 ranks and killed resumes in one process and ends
# within the tolerances of tests/fixtures/mpi/compare_runs.py. SIGTERM to one
# rank stops every rank after the same step with a resume checkpoint.
set -eu
source tests/fixtures/engine/toy_common.sh
source tests/fixtures/mpi/mpi_common.sh
D="$TMP/toy"
mpi_toy "$D" toy-mpi-resume
"${MPIRUN[@]}" -np 2 "$MODX" run "$D/exp.json" --out "$TMP/ref" --quiet --no-report > /dev/null
# rank 1 dies after its 11th step (phase 0 is 6 steps: in finetune's phase 1, after its checkpoint at step 4)
start=$(date +%s)
rc=0
MODX_TEST_KILL_AFTER_STEPS=11 MODX_TEST_KILL_RANK=1 "${MPIRUN[@]}" -x MODX_TEST_KILL_AFTER_STEPS -x MODX_TEST_KILL_RANK \
  -np 2 "$MODX" run "$D/exp.json" --out "$TMP/b" --quiet --no-report > /dev/null 2> "$TMP/b.err" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || { echo "the job survived a killed rank"; exit 1; }
[ "$took" -le 30 ] || { echo "the job took $took s to end after a rank was killed"; exit 1; }
grep -Eq "rank 1 .*(signal 9|Killed)" "$TMP/b.err" || { echo "no message naming rank 1:"; cat "$TMP/b.err"; exit 1; }
[ -f "$TMP/b/finetune/resume.safetensors" ] || { echo "no resume checkpoint"; exit 1; }
# rank 0 dies on a later step of the resumed job, then it resumes to the end
rc=0
MODX_TEST_KILL_AFTER_STEPS=20 MODX_TEST_KILL_RANK=0 "${MPIRUN[@]}" -x MODX_TEST_KILL_AFTER_STEPS -x MODX_TEST_KILL_RANK \
  -np 2 "$MODX" run --resume "$TMP/b" --quiet --no-report > /dev/null 2> "$TMP/b2.err" || rc=$?
[ "$rc" -ne 0 ] && grep -Eq "rank 0 .*(signal 9|Killed)" "$TMP/b2.err" || { echo "rank 0's death not reported"; exit 1; }
"${MPIRUN[@]}" -np 2 "$MODX" run --resume "$TMP/b" --quiet --no-report > /dev/null
same_run "$TMP/ref" "$TMP/b" "after two kills and resumes"
[ -z "$(cd "$TMP/b" && find . -name 'resume*')" ] || { echo "resume files left"; exit 1; }
# started with 2 ranks, resumed by one process
rc=0
MODX_TEST_KILL_AFTER_STEPS=15 "${MPIRUN[@]}" -x MODX_TEST_KILL_AFTER_STEPS \
  -np 2 "$MODX" run "$D/exp.json" --out "$TMP/c" --quiet --no-report > /dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || { echo "expected the job to be killed"; exit 1; }
"$MODX" run --resume "$TMP/c" --quiet --no-report > /dev/null
python3 tests/fixtures/mpi/compare_runs.py "$TMP/ref" "$TMP/c"
# SIGTERM to one rank only: the ranks agree to stop after the same step, rank 0
# writes the resume checkpoint, the job ends; --resume ends as the uninterrupted run
"${MPIRUN[@]}" -np 2 "$MODX" run "$D/exp.json" --out "$TMP/e" --quiet --no-report > /dev/null 2> "$TMP/e.err" &
job=$!
for _ in $(seq 300); do [ -s "$TMP/e/metrics.jsonl" ] && break; sleep 0.05; done
victim=$(pgrep -P "$job" | tail -1)
[ -n "$victim" ] && kill -TERM "$victim" 2> /dev/null || true
rc=0; wait "$job" || rc=$?
if ! grep -q '"status":	"done"' "$TMP/e/run.json"; then
  [ "$rc" -ne 0 ] || { echo "a stopped job exited 0"; exit 1; }
  grep -q "interrupted during" "$TMP/e.err" || { echo "no 'interrupted' message:"; cat "$TMP/e.err"; exit 1; }
  ! grep -q "ending the job" "$TMP/e.err" || { echo "a stop signal aborted the job:"; cat "$TMP/e.err"; exit 1; }
  "${MPIRUN[@]}" -np 2 "$MODX" run --resume "$TMP/e" --quiet --no-report > /dev/null
fi
for f in $(cd "$TMP/ref" && find . -name '*.safetensors' | sort) results.csv; do cmp "$TMP/ref/$f" "$TMP/e/$f"; done
echo "stopped by SIGTERM to one rank, resumed: identical"
