# Corrupt webdataset shards: unsafe members are refused (always), per-sample
# problems are errors naming shard and sample/member, or skipped and listed with
# --skip-bad; a shard that is not a tar, a missing shard and bad patterns fail.
set -eu
V=data/bpe_simple_vocab_16e6.txt.gz
python3 tools/make_wds_csv_fixtures.py "$TMP/fx"
B="$TMP/fx/bad"
n=0
refuse() { # shard, expected message, [extra options]
  local shard=$1 msg=$2; shift 2
  if "$MODX" data prepare --format wds --input "$shard" --vocab $V --size 8 --out "$TMP/o$n" "$@" > "$TMP/out" 2> "$TMP/err"; then
    echo "$shard accepted"; exit 1
  fi
  grep -q -- "$msg" "$TMP/err" || { echo "$shard: expected '$msg', got:"; cat "$TMP/err"; exit 1; }
  [ ! -e "$TMP/o$n/dataset.cache" ] || { echo "$shard: a cache was written"; exit 1; }
  n=$((n + 1))
}
skips() { # shard, expected skip message: with --skip-bad beside a good shard, listed and counted
  "$MODX" data prepare --format wds --input "$TMP/fx/wds/part-0.tar" --input "$1" --vocab $V --size 8 --skip-bad \
    --out "$TMP/s$n" > "$TMP/out" 2> "$TMP/err" || { echo "$1 with --skip-bad failed:"; cat "$TMP/err"; exit 1; }
  grep -q "skipped 1 item" "$TMP/out" && grep -q -- "$2" "$TMP/out" || { echo "$1: expected skip '$2':"; cat "$TMP/out"; exit 1; }
  n=$((n + 1))
}
for opt in "" --skip-bad; do
  refuse "$B/dotdot.tar" "dotdot.tar: member '../x.png': a name outside the archive root" $opt
  refuse "$B/absolute.tar" "absolute.tar: member '/abs/x.png': an absolute path" $opt
  refuse "$B/symlink.tar" "symlink.tar: member 'a.png': a symbolic link" $opt
  refuse "$B/hardlink.tar" "hardlink.tar: member 'b.png': a hard link" $opt
  refuse "$B/device.tar" "device.tar: member 'a.png': a device file" $opt
done
refuse "$B/no_caption.tar" "no_caption.tar: sample 'a': expected a caption (.txt or .json), found none"
refuse "$B/no_image.tar" "no_image.tar: sample 'a': expected an image"
refuse "$B/undecodable.tar" "undecodable.tar:a.png: truncated PNG"
refuse "$B/truncated.tar" "truncated.tar: sample 'b': member 'b.png' is cut short"
refuse "$B/big_caption.tar" "big_caption.tar: sample 'a': member 'a.txt' is 1048577 bytes, over the limit"
refuse "$B/two_images.tar" "two_images.tar: sample 'a': member 'a.jpg': expected one image per sample"
skips "$B/no_caption.tar" "no_caption.tar: sample 'a': expected a caption"
skips "$B/no_image.tar" "no_image.tar: sample 'a': expected an image"
skips "$B/undecodable.tar" "undecodable.tar:a.png: truncated PNG"
skips "$B/truncated.tar" "truncated.tar: sample 'b': member 'b.png' is cut short"
# the good sample before the cut in truncated.tar is kept
grep -q "4 images" "$TMP/out" || { cat "$TMP/out"; exit 1; }
skips "$B/big_caption.tar" "big_caption.tar: sample 'a': member 'a.txt' is 1048577 bytes"
head -c 1000 /dev/urandom > "$TMP/noise.tar"
refuse "$TMP/noise.tar" "noise.tar: "
refuse "$TMP/none.tar" "none.tar: cannot open the shard"
refuse "$TMP/fx/wds/part-{0..1.tar" "expected a '}' closing"
refuse "$TMP/fx/wds/part-{0..x}.tar" "expected {FIRST..LAST}"
refuse "$TMP/fx/wds/part-0.tar" "wds domain 'name': expected shard or json:FIELD" --wds-domain name
refuse "$TMP/fx/wds/part-0.tar" "sample 'sample0000': the domain field is missing" --wds-domain json:vendor
echo "$n bad shard cases handled"
