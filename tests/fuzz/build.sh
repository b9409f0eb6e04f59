#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer binary (clang, ASan+UBSan) into $1/fuzz/.
# Run one:  build-fuzz/fuzz/fuzz_X -max_total_time=60 tests/fuzz/seeds/fuzz_X
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build-fuzz}
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
make --no-print-directory "$out/libmodx_internal.a" BUILD="$out" CC=clang OPT="-O1 -g -fno-omit-frame-pointer -Wno-pass-failed" \
  SAN="$san -fsanitize=fuzzer-no-link"
mkdir -p "$out/fuzz"
libs="$(pkg-config --libs libcjson spng libjpeg zlib libutf8proc libarchive libwebp) -ldnnl -lopenblas -lm -lpthread"
for src in tests/fuzz/fuzz_*.c; do
  [ -e "$src" ] || continue
  name=$(basename "$src" .c)
  clang -std=c11 -D_GNU_SOURCE -Iinclude -Isrc $(pkg-config --cflags libcjson) -O1 -g $san -fsanitize=fuzzer \
    -fopenmp -o "$out/fuzz/$name" "$src" "$out/libmodx_internal.a" $libs
  echo "built $out/fuzz/$name"
done
