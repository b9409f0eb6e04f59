# modx inspect: lists a fixture's config, tensors and parameter count; a corrupt
# or missing file exits 1 with a message naming the file; bad usage exits 2.
set -eu
fx=tests/fixtures/st_python_written.safetensors
"$MODX" inspect "$fx" >"$TMP/out"
grep -q '^model config (modx.config):' "$TMP/out"
grep -q '"embed_dim":' "$TMP/out"
grep -q '^  source: python$' "$TMP/out"
grep -Eq '^f16 +F16 +\[2, 5\] +10$' "$TMP/out"
grep -Eq '^bf16 +BF16 +\[6\] +6$' "$TMP/out"
grep -Eq '^logit_scale +F32 +\[\] +1$' "$TMP/out"
grep -q '^7 tensors, 30 parameters$' "$TMP/out"
"$MODX" inspect --help | grep -q 'usage: modx inspect'

# Truncated copy: data cut short, header intact.
head -c 590 "$fx" >"$TMP/cut.safetensors"
set +e
"$MODX" inspect "$TMP/cut.safetensors" >"$TMP/out2" 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "truncated file: exit $rc, want 1"; exit 1; }
grep -q "$TMP/cut.safetensors" "$TMP/err"
grep -q "tensor 'proj': data_offsets \[80, 96\] past the end" "$TMP/err"

# Not a safetensors file at all.
printf 'hello world, not tensors' >"$TMP/text.safetensors"
set +e
"$MODX" inspect "$TMP/text.safetensors" 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "$TMP/text.safetensors: header length" "$TMP/err"

set +e
"$MODX" inspect "$TMP/missing.safetensors" 2>"$TMP/err"; rc=$?
"$MODX" inspect 2>/dev/null; rc2=$?
set -e
[ "$rc" -eq 1 ] && grep -q "$TMP/missing.safetensors" "$TMP/err"
[ "$rc2" -eq 2 ]
echo "inspect ok"
