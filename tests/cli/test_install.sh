# make install into a temporary prefix (from the already built $BUILD): the
# header, libmodx.so with its soname links, libmodx.a and modx.pc are there;
# both libraries export exactly the MODX_API functions of include/modx.h
# (nothing internal leaks); examples/similarity.c builds from the installed
# header with pkg-config alone, dynamically and statically, and prints the same
# sane image x caption similarity matrix both ways; DESTDIR and uninstall work.
set -eu
unset MAKEFLAGS MAKELEVEL MFLAGS
prefix="$TMP/prefix"
make --no-print-directory install BUILD="$BUILD" PREFIX="$prefix" >"$TMP/install.log" 2>&1 \
  || { cat "$TMP/install.log"; exit 1; }
version=$(sed -n 's/^#define MODX_VERSION_STRING "\(.*\)"/\1/p' include/modx.h)
major=${version%%.*}
for f in include/modx.h lib/libmodx.a "lib/libmodx.so.$version" lib/pkgconfig/modx.pc; do
  [ -f "$prefix/$f" ] || { echo "missing $prefix/$f"; ls -lR "$prefix"; exit 1; }
done
[ "$(readlink "$prefix/lib/libmodx.so")" = "libmodx.so.$major" ] || { ls -l "$prefix/lib"; exit 1; }
[ "$(readlink "$prefix/lib/libmodx.so.$major")" = "libmodx.so.$version" ] || { ls -l "$prefix/lib"; exit 1; }
objdump -p "$prefix/lib/libmodx.so.$version" | grep -Eq "SONAME +libmodx\.so\.$major\$"
cmp include/modx.h "$prefix/include/modx.h"

# exported symbols: exactly the header's MODX_API functions, nothing else
sed -nE 's/^MODX_API [^(]*[ *](modx_[a-z0-9_]+)\(.*/\1/p' include/modx.h | sort >"$TMP/api.txt"
[ "$(wc -l <"$TMP/api.txt")" -ge 20 ] || { echo "could not read the API from include/modx.h"; exit 1; }
nm -D --defined-only "$prefix/lib/libmodx.so" | awk '{print $NF}' | sort >"$TMP/dyn.txt"
if grep -v '^modx_' "$TMP/dyn.txt"; then echo "libmodx.so exports the non-modx_ symbols above"; exit 1; fi
diff "$TMP/api.txt" "$TMP/dyn.txt" || { echo "libmodx.so exports (>) / misses (<) the symbols above"; exit 1; }
nm -g --defined-only "$prefix/lib/libmodx.a" | awk 'NF == 3 {print $3}' | sort >"$TMP/static.txt"
if grep -v '^modx_' "$TMP/static.txt"; then echo "libmodx.a has the global non-modx_ symbols above"; exit 1; fi
diff "$TMP/api.txt" "$TMP/static.txt" || { echo "libmodx.a defines (>) / misses (<) the symbols above"; exit 1; }

# the example, built from a copy outside the tree with pkg-config alone
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --modversion modx)" = "$version" ]
pkg-config --variable=prefix modx | grep -qx "$prefix"
cp examples/similarity.c "$TMP/similarity.c"
san=""
[ "${MODX_ASAN:-0}" = 1 ] && san="-fsanitize=address,undefined -fno-sanitize-recover=all"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror $san -o "$TMP/sim" "$TMP/similarity.c" $(pkg-config --cflags --libs modx)
static_libs=$(pkg-config --static --libs modx)
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Werror $san -o "$TMP/sim_static" "$TMP/similarity.c" $(pkg-config --cflags modx) \
  ${static_libs/-lmodx/-l:libmodx.a}
LD_LIBRARY_PATH="$prefix/lib" ldd "$TMP/sim" | grep -q "libmodx.so.$major => $prefix/lib/"
if ldd "$TMP/sim_static" | grep libmodx; then echo "the static build needs libmodx.so"; exit 1; fi

# a micro model with the CLIP vocabulary (configs/micro.json's 64 ids cannot hold BPE ids), fixture images
sed 's/"vocab_size": 64/"vocab_size": 49408/' configs/micro.json >"$TMP/micro.json"
"$MODX" init --config "$TMP/micro.json" --seed 3 --out "$TMP/model.safetensors" >/dev/null
img=tests/fixtures/data/images
args=("$TMP/model.safetensors" data/bpe_simple_vocab_16e6.txt.gz "$img/red.png" "$img/green.png" "$img/blue.png"
      tests/fixtures/images/jpeg_rgb_wide.jpg -- "a red square" "a green square" "stripes")
LD_LIBRARY_PATH="$prefix/lib" "$TMP/sim" "${args[@]}" >"$TMP/dyn.out"
"$TMP/sim_static" "${args[@]}" >"$TMP/static.out"
cat "$TMP/dyn.out"
diff "$TMP/dyn.out" "$TMP/static.out"
grep -qx 'similarity: 4 images x 3 captions (cosine of the L2-normalised features)' "$TMP/dyn.out"
# 4 rows of 3 finite cosines in [-1, 1], not all equal; one pick per image
awk -F': ' '/^image [0-9]+ \(/ {
    rows++; n = split($2, v, " "); if (n != 3) bad = bad " row " rows ": " n " values";
    for (k = 1; k <= n; k++) { x = v[k] + 0; if (v[k] !~ /^[+-][0-9]\.[0-9][0-9][0-9][0-9]$/ || x < -1 || x > 1) bad = bad " " v[k]; seen[v[k]] = 1 }
  }
  END { d = 0; for (s in seen) d++;
        if (rows != 4 || bad != "" || d < 2) { print "bad matrix: rows " rows ", " d " distinct:" bad; exit 1 } }' "$TMP/dyn.out"
[ "$(grep -cE '^image [0-3] picks caption [0-2] \([+-][0-9]\.[0-9]{4}\): ' "$TMP/dyn.out")" -eq 4 ]
# errors come back through modx_last_error
set +e
LD_LIBRARY_PATH="$prefix/lib" "$TMP/sim" "$TMP/model.safetensors" data/bpe_simple_vocab_16e6.txt.gz "$img/none.png" -- x \
  2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "none.png" "$TMP/err" || { echo "exit $rc:"; cat "$TMP/err"; exit 1; }

# DESTDIR stages the same files under another root, with the prefix kept; uninstall removes them
make --no-print-directory install BUILD="$BUILD" PREFIX=/opt/modx DESTDIR="$TMP/stage" >/dev/null
[ -f "$TMP/stage/opt/modx/lib/libmodx.a" ] && [ -f "$TMP/stage/opt/modx/include/modx.h" ]
grep -qx 'prefix=/opt/modx' "$TMP/stage/opt/modx/lib/pkgconfig/modx.pc"
make --no-print-directory uninstall BUILD="$BUILD" PREFIX=/opt/modx DESTDIR="$TMP/stage" >/dev/null
[ -z "$(find "$TMP/stage" -type f -o -type l)" ] || { find "$TMP/stage"; exit 1; }
