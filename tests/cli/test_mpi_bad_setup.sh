# A job of several ranks that cannot train correctly is refused before any
# training, with a message saying what to change: a global batch not
# divisible by the rank count, ranks started on different experiments or on
# different modx binaries (checksums exchanged at the start), and a run
# directory the ranks do not share (here: each rank given its own --out).
set -eu
source tests/fixtures/engine/toy_common.sh
source tests/fixtures/mpi/mpi_common.sh
D="$TMP/toy"
mpi_toy "$D" toy-mpi-bad
expect_refused() { # NAME PATTERN, then the mpirun arguments
  local name=$1 pattern=$2
  shift 2
  if "${MPIRUN[@]}" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"; then echo "$name: the job ran"; exit 1; fi
  grep -q "$pattern" "$TMP/$name.err" || { echo "$name: no '$pattern' in:"; cat "$TMP/$name.err"; exit 1; }
  [ ! -e "$TMP/$name/run.json" ] || { echo "$name: the run started"; exit 1; }
  echo "$name refused"
}
sed 's/"batch": 4/"batch": 3/' "$D/exp.json" > "$D/odd.json"
expect_refused odd "train.batch = 3 is not divisible by the 2 ranks" -np 2 "$MODX" run "$D/odd.json" --out "$TMP/odd"
sed 's/"lr": 1e-3/"lr": 2e-3/' "$D/exp.json" > "$D/other.json"
expect_refused exp "rank 1 was started on a different experiment than rank 0" \
  -np 1 "$MODX" run "$D/exp.json" --out "$TMP/exp" : -np 1 "$MODX" run "$D/other.json" --out "$TMP/exp"
cp "$MODX" "$TMP/modx-other" && printf x >> "$TMP/modx-other"
expect_refused bin "rank 1 runs a different modx binary than rank 0" \
  -np 1 "$MODX" run "$D/exp.json" --out "$TMP/bin" : -np 1 "$TMP/modx-other" run "$D/exp.json" --out "$TMP/bin"
expect_refused dir "rank 1 does not see .*/dir/.modx-ranks-nonce" \
  -np 1 "$MODX" run "$D/exp.json" --out "$TMP/dir" : -np 1 "$MODX" run "$D/exp.json" --out "$TMP/dir-elsewhere"
