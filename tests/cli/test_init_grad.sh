# modx init writes a checkpoint carrying its config; inspect shows it; grad runs
# on it and rejects a malformed batch with a message naming the file.
set -eu
"$MODX" init --config tests/fixtures/clip_micro.json --seed 3 --out "$TMP/m.safetensors" | grep -q 'parameters, seed 3'
"$MODX" inspect "$TMP/m.safetensors" > "$TMP/inspect.txt"
grep -q '"embed_dim"' "$TMP/inspect.txt"
grep -q 'visual.transformer.resblocks.0.attn.in_proj_weight' "$TMP/inspect.txt"
grep -q 'logit_scale' "$TMP/inspect.txt"
# same seed, same bytes; another seed, other bytes
"$MODX" init --config tests/fixtures/clip_micro.json --seed 3 --out "$TMP/m2.safetensors" >/dev/null
cmp "$TMP/m.safetensors" "$TMP/m2.safetensors"
"$MODX" init --config tests/fixtures/clip_micro.json --seed 4 --out "$TMP/m3.safetensors" >/dev/null
! cmp -s "$TMP/m.safetensors" "$TMP/m3.safetensors"
# grad needs no --config when the checkpoint carries it
"$MODX" grad --ckpt "$TMP/m.safetensors" --batch tests/fixtures/clip_micro_batch.safetensors --out "$TMP/g.safetensors" | grep -q '^loss '
"$MODX" inspect "$TMP/g.safetensors" | grep -q 'grad.visual.conv1.weight'
# a batch whose images have the wrong size
"$MODX" grad --ckpt "$TMP/m.safetensors" --batch "$TMP/m.safetensors" --out "$TMP/x.safetensors" 2>"$TMP/err" && exit 1
grep -q "m.safetensors: missing tensor 'images'" "$TMP/err"
"$MODX" init --config /nonexistent.json --out "$TMP/y.safetensors" 2>"$TMP/err" && exit 1
grep -q 'nonexistent.json' "$TMP/err"
[ ! -e "$TMP/y.safetensors" ]
