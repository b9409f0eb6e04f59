# modx init --config configs/RN50.json writes exactly OpenCLIP's RN50 state dict
# (names, dtypes, shapes; the list was generated once from the PyTorch reference,
# tools/gen_rn_fixtures.py); inspect lists the ResNet tensors; grad --eval runs.
set -eu
"$MODX" init --config configs/RN50.json --seed 1 --out "$TMP/rn50.safetensors" | grep -q '102007137 parameters'
"$MODX" inspect "$TMP/rn50.safetensors" > "$TMP/inspect.txt"
rm -f "$TMP/rn50.safetensors"
grep -q 'visual.layer1.0.downsample.1.running_var' "$TMP/inspect.txt"
grep -q 'visual.attnpool.positional_embedding' "$TMP/inspect.txt"
# "name DTYPE [a, b]  count" -> "name DTYPE [a,b]"
grep -E '^(visual\.|token_|positional_|transformer\.|ln_final|text_proj|logit_scale)' "$TMP/inspect.txt" |
  sed -E 's/^([^ ]+) +([A-Z0-9]+) +(\[[^]]*\]).*/\1 \2 \3/; s/, /,/g' | sort > "$TMP/ours.txt"
grep -v '^#' tests/fixtures/rn50_state_dict.txt | sort > "$TMP/openclip.txt"
diff "$TMP/openclip.txt" "$TMP/ours.txt"
[ "$(wc -l < "$TMP/ours.txt")" -eq 489 ]
# the small RN config: grad in both BatchNorm modes differs only in the image tower's statistics
"$MODX" init --config configs/rn-tiny.json --seed 2 --out "$TMP/tiny.safetensors" >/dev/null
"$MODX" grad --ckpt "$TMP/tiny.safetensors" --batch tests/fixtures/rn_tiny_batch.safetensors --out "$TMP/g1.safetensors" | grep -q '^loss '
"$MODX" grad --eval --ckpt "$TMP/tiny.safetensors" --batch tests/fixtures/rn_tiny_batch.safetensors --out "$TMP/g2.safetensors" | grep -q '^loss '
! cmp -s "$TMP/g1.safetensors" "$TMP/g2.safetensors"
"$MODX" inspect "$TMP/g2.safetensors" | grep -q 'grad.visual.layer4.0.bn3.weight'
