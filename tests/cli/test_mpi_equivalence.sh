# Data parallelism: `mpirun -np 2 modx run` (each rank forwards half of every
# global batch of 4, the features are all-gathered, the gradients summed in
# rank order) against one process on the toy experiment with every kind of
# strategy: every step's losses, the final R@1s and every checkpoint within
# the tolerances of tests/fixtures/mpi/compare_runs.py; only rank 0 writes
# (one progress line set, one table). Then again over TCP (`--mca btl
# self,tcp`, the transport of separate machines): bit-identical to the first
# 2-rank run, since the reduction order never depends on timing. And
# `modx train` (one model on a cache) with 2 ranks against one process.
set -eu
source tests/fixtures/engine/toy_common.sh
source tests/fixtures/mpi/mpi_common.sh
D="$TMP/toy"
mpi_toy "$D" toy-mpi
"$MODX" run "$D/exp.json" --out "$TMP/one" --quiet --no-report > /dev/null
"${MPIRUN[@]}" -np 2 "$MODX" run "$D/exp.json" --out "$TMP/two" --no-report > "$TMP/two.out" 2> "$TMP/two.err"
[ "$(grep -c '^| finetune |' "$TMP/two.out")" -eq 1 ] || { echo "expected one results table"; cat "$TMP/two.out"; exit 1; }
[ "$(grep -c '^run toy-mpi:' "$TMP/two.err")" -eq 1 ] || { echo "progress printed by more than one rank"; exit 1; }
grep -q '"status":	"done"' "$TMP/two/run.json"
[ -z "$(find "$TMP/two" -name '*.tmp.*' -o -name 'resume*' -o -name '.modx-ranks-*')" ] || { echo "files left over"; exit 1; }
python3 tests/fixtures/mpi/compare_runs.py "$TMP/one" "$TMP/two"
"${MPIRUN[@]}" --mca btl self,tcp -np 2 "$MODX" run "$D/exp.json" --out "$TMP/tcp" --quiet --no-report > /dev/null
same_run "$TMP/two" "$TMP/tcp" "over TCP"
# modx train: one model on a cache, the same under 2 ranks
"$MODX" train --data "$TMP/one/data/toy.cache" --config tests/fixtures/engine/micro.json --out "$TMP/t1" \
  --epochs 3 --batch 4 --quiet > /dev/null
"${MPIRUN[@]}" -np 2 "$MODX" train --data "$TMP/one/data/toy.cache" --config tests/fixtures/engine/micro.json \
  --out "$TMP/t2" --epochs 3 --batch 4 > "$TMP/t2.out"
[ "$(grep -c '^wrote ' "$TMP/t2.out")" -eq 1 ] || { echo "expected one 'wrote' line"; cat "$TMP/t2.out"; exit 1; }
python3 tests/fixtures/mpi/compare_runs.py "$TMP/t1" "$TMP/t2"
