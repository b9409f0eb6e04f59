# A checkpoint with a NaN weight: modx eval names the checkpoint and the tensor
# (not "image feature value 0 is nan").
set -eu
F=tests/fixtures/data
V=data/bpe_simple_vocab_16e6.txt.gz
cat > "$TMP/cfg.json" <<'JSON'
{"embed_dim": 16, "quick_gelu": true,
 "vision_cfg": {"image_size": 16, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
 "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
JSON
"$MODX" data prepare --format manifest --input $F/manifest.jsonl --vocab $V --size 16 --context 16 --out "$TMP/d" >/dev/null
"$MODX" init --config "$TMP/cfg.json" --out "$TMP/m.safetensors" >/dev/null
"$MODX" eval --ckpt "$TMP/m.safetensors" --data "$TMP/d/dataset.cache" --split all | grep -q rsum
# element 0 of visual.proj := NaN (0x7fc00000, little-endian), found from the safetensors header
hlen=$(od -An -tu8 -N8 "$TMP/m.safetensors" | tr -d ' ')
off=$(head -c $((8 + hlen)) "$TMP/m.safetensors" | tail -c "$hlen" | grep -o '"visual.proj":{[^}]*}' \
      | sed -E 's/.*"data_offsets":\[([0-9]+),.*/\1/')
[ -n "$off" ]
printf '\000\000\300\177' | dd of="$TMP/m.safetensors" bs=1 seek=$((8 + hlen + off)) conv=notrunc 2>/dev/null
if "$MODX" eval --ckpt "$TMP/m.safetensors" --data "$TMP/d/dataset.cache" --split all 2>"$TMP/err"; then exit 1; fi
cat "$TMP/err"
grep -q "m.safetensors" "$TMP/err"
grep -q "tensor 'visual.proj' element 0 is nan" "$TMP/err"
