# Every fuzz target, built with the plain-main driver, runs over its committed
# seeds (tests/fuzz/seeds/<target>/) without crashing; under `make asan` the
# same run is sanitized.
set -eu
n=0
for src in tests/fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  [ -x "$BUILD/fuzz/$name" ] || { echo "missing $BUILD/fuzz/$name"; exit 1; }
  [ -d "tests/fuzz/seeds/$name" ] || { echo "no seeds for $name"; exit 1; }
  "$BUILD/fuzz/$name" "tests/fuzz/seeds/$name"
  n=$((n + 1))
done
echo "$n fuzz targets replayed"
