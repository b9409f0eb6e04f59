# modx analyze --features: summary and JSON on the committed fixtures (text turned
# 30 degrees relative to the images); missing tensor, mismatched probe sets and a
# truncated file exit 1 naming the file; bad usage exits 2.
set -eu
a=tests/fixtures/analysis_a.safetensors
b=tests/fixtures/analysis_b.safetensors
"$MODX" analyze --features "$a" "$b" --json "$TMP/out.json" >"$TMP/out"
cat "$TMP/out"
grep -q '^probe pairs 64, embedding width 8$' "$TMP/out"
grep -Eq '^image rotation theta \(deg\): mean 102\.726 ' "$TMP/out"
grep -Eq '^text  topology: mean \|S_a - S_b\| 0\.6499 deg over 2016 pairs, Spearman 0\.999' "$TMP/out"
grep -Eq '^relative rotation R_V\^T R_T \(deg\): max 30\.2094  mean 7\.7838$' "$TMP/out"
grep -q "^wrote $TMP/out.json$" "$TMP/out"
grep -q '"features_a":.*analysis_a.safetensors' "$TMP/out.json"
grep -Eq '"max_deg":[[:space:]]+30\.209' "$TMP/out.json"
grep -q '"hist":' "$TMP/out.json"
grep -q '"angles_deg":' "$TMP/out.json"
"$MODX" analyze --help | grep -q 'usage: modx analyze'

# a sampled topology (pair cap) is reported as such
"$MODX" analyze --features "$a" "$b" --max-pairs 500 | grep -q 'over 500 sampled pairs'

set +e
"$MODX" analyze --features "$a" tests/fixtures/analysis_bad.safetensors 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "analysis_bad.safetensors: tensor 'text_features' not found" "$TMP/err"

head -c 3000 "$b" >"$TMP/cut.safetensors"
set +e
"$MODX" analyze --features "$a" "$TMP/cut.safetensors" 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "$TMP/cut.safetensors" "$TMP/err"

# different probe sets
set +e
"$MODX" analyze --features "$a" tests/fixtures/analysis_other.safetensors 2>"$TMP/err"; rc=$?
"$MODX" analyze --features "$a" 2>/dev/null; rc2=$?
"$MODX" analyze --features "$a" "$b" --max-pairs 0 2>/dev/null; rc3=$?
set -e
[ "$rc" -eq 1 ] && grep -q "analysis_other.safetensors has 32 of width 8; expected the same probe set" "$TMP/err"
[ "$rc2" -eq 2 ] && [ "$rc3" -eq 2 ]
echo "analyze ok"
