# modx merge: t = 0 and t = 1 reproduce A and B exactly (checked through the
# byte-identical output of `modx grad`), t = 0.5 gives a third model; bad mix
# values, mismatched configs and missing files fail with a message naming them.
set -eu
BATCH=tests/fixtures/clip_micro_batch.safetensors
"$MODX" merge --help | grep -q -- '--mix'
"$MODX" init --config configs/micro.json --seed 1 --out "$TMP/a.safetensors" >/dev/null
"$MODX" init --config configs/micro.json --seed 2 --out "$TMP/b.safetensors" >/dev/null
for who in a b; do
    "$MODX" grad --ckpt "$TMP/$who.safetensors" --batch $BATCH --out "$TMP/g_$who.safetensors" >/dev/null
done
"$MODX" merge "$TMP/a.safetensors" "$TMP/b.safetensors" --mix 0 --out "$TMP/c0.safetensors" | grep -q '^wrote '
"$MODX" merge "$TMP/a.safetensors" "$TMP/b.safetensors" --mix 1 --out "$TMP/c1.safetensors" >/dev/null
"$MODX" merge "$TMP/a.safetensors" "$TMP/b.safetensors" --mix=0.5 --out "$TMP/c5.safetensors" >/dev/null
for t in 0 1 5; do
    "$MODX" grad --ckpt "$TMP/c$t.safetensors" --batch $BATCH --out "$TMP/g_c$t.safetensors" >/dev/null
done
cmp "$TMP/g_c0.safetensors" "$TMP/g_a.safetensors"
cmp "$TMP/g_c1.safetensors" "$TMP/g_b.safetensors"
! cmp -s "$TMP/g_c5.safetensors" "$TMP/g_a.safetensors"
! cmp -s "$TMP/g_c5.safetensors" "$TMP/g_b.safetensors"
"$MODX" inspect "$TMP/c5.safetensors" | grep -q 'modx.merge.mix'

# mix outside [0, 1] or not a number
"$MODX" merge "$TMP/a.safetensors" "$TMP/b.safetensors" --mix 1.5 --out "$TMP/x.safetensors" 2>"$TMP/err" && exit 1
grep -q '\[0, 1\]' "$TMP/err"
"$MODX" merge "$TMP/a.safetensors" "$TMP/b.safetensors" --mix half --out "$TMP/x.safetensors" 2>"$TMP/err" && exit 1
grep -q -- '--mix' "$TMP/err"
[ ! -e "$TMP/x.safetensors" ]

# a model with another embed_dim: the error names the parameter and both files
sed 's/"embed_dim": 16/"embed_dim": 8/' configs/micro.json > "$TMP/other.json"
grep -q '"embed_dim": 8' "$TMP/other.json"
"$MODX" init --config "$TMP/other.json" --seed 1 --out "$TMP/other.safetensors" >/dev/null
rc=0
"$MODX" merge "$TMP/a.safetensors" "$TMP/other.safetensors" --mix 0.5 --out "$TMP/x.safetensors" 2>"$TMP/err" || rc=$?
[ "$rc" -ne 0 ]
grep -q 'other.safetensors' "$TMP/err"
grep -q "parameter 'visual.proj'" "$TMP/err"
[ ! -e "$TMP/x.safetensors" ]

# a missing input is named
"$MODX" merge "$TMP/a.safetensors" "$TMP/nope.safetensors" --mix 0.5 --out "$TMP/x.safetensors" 2>"$TMP/err" && exit 1
grep -q 'nope.safetensors' "$TMP/err"
# missing arguments: usage, exit 2
rc=0
"$MODX" merge "$TMP/a.safetensors" --mix 0.5 --out "$TMP/x.safetensors" 2>"$TMP/err" || rc=$?
[ "$rc" -eq 2 ]
grep -q 'usage' "$TMP/err"
# same shapes, other head count: the setting is named
sed 's/"heads": 2/"heads": 4/' configs/micro.json > "$TMP/heads.json"
"$MODX" init --config "$TMP/heads.json" --seed 1 --out "$TMP/heads.safetensors" >/dev/null
"$MODX" merge "$TMP/a.safetensors" "$TMP/heads.safetensors" --mix 0.5 --out "$TMP/x.safetensors" 2>"$TMP/err" && exit 1
grep -q 'text_cfg.heads is 2 in .*a.safetensors but 4 in .*heads.safetensors' "$TMP/err"
[ ! -e "$TMP/x.safetensors" ]
