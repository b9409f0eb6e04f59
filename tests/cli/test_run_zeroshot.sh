# Zero-shot retention in a run: test sets with "role": "zeroshot" (labels from the
# first caption with a templates file; labels from a labels file with a classes file
# and the shipped 80 ImageNet templates) are evaluated after every phase; their
# top-1/top-5 appear in metrics.jsonl, results.csv/md, summary.json/md and the report,
# and equal what `modx zeroshot` gives on the same checkpoint. Bad zero-shot keys are
# errors naming the file and the key, before any training.
set -eu
export OMP_WAIT_POLICY=passive
source tests/fixtures/engine/toy_common.sh
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
printf 'a {} picture\n%s\n' '{} thing' >"$D/templates.txt"
# the labels file: test images of the cache (see below), labelled with their domain
printf 'red\ngreen\nblue\n' >"$D/classes.txt"
zs='{"name": "names", "dataset": "toy", "split": "test", "role": "zeroshot", "labels": "caption",
      "templates": "templates.txt"},
     {"name": "colours", "dataset": "toy", "role": "zeroshot", "labels": "labels.jsonl", "classes": "classes.txt",
      "templates": "'"$PWD"'/data/imagenet_templates.txt"}'
# the toy cache lists red, green, blue images 0-15, 16-31, 32-47; 12-15 of each are test
for i in 12 13 14 15 28 29 30 31 44 45 46 47; do
  d=red; [ $i -ge 16 ] && d=green; [ $i -ge 32 ] && d=blue
  echo "{\"image\": $i, \"label\": \"$d\"}"
done >"$D/labels.jsonl"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy "${TOY_TESTS%]}, $zs]" '["finetune", "modx"]' \
  '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 4, "lr": 1e-3, "alpha": 1, "log_every": 1, "eval_batch": 8}'
R="$TMP/run"
"$MODX" run "$D/exp.json" --out "$R" --quiet >"$TMP/out"
cat "$TMP/out"
grep -q '| strategy | red | green | blue | mean of domains | names zero-shot top-1 | colours zero-shot top-1 |' "$TMP/out"
grep -q '"role":	"zeroshot"' "$R/run.json"

# every (strategy, phase) of each zero-shot set: metrics.jsonl, results.csv and summary.json agree,
# and `modx zeroshot` on that phase's checkpoint prints the same accuracy
check() { # STRATEGY PHASE CKPT
  local s=$1 p=$2 ck=$3
  for set in names colours; do
    line=$(grep "\"type\": \"zeroshot\", \"strategy\": \"$s\", \"phase\": $p, \"test_set\": \"$set\"" "$R/metrics.jsonl")
    [ "$(echo "$line" | wc -l)" -eq 1 ] || { echo "$s $p $set: expected one zeroshot line"; exit 1; }
    t1=$(echo "$line" | sed -E 's/.*"top1": ([0-9.]+).*/\1/'); t5=$(echo "$line" | sed -E 's/.*"top5": ([0-9.]+).*/\1/')
    grep -q "^$s,$p,$set,zeroshot,12,,,,,,,,,,,,,$t1,$t5\$" "$R/results.csv" || { echo "$s $p $set: not in results.csv"; exit 1; }
    if [ $set = names ]; then
      args=(--labels caption --split test --templates "$D/templates.txt"); want="12 images, 12 classes, 2 templates"
    else
      args=(--labels "$D/labels.jsonl" --classes "$D/classes.txt" --templates data/imagenet_templates.txt)
      want="12 images, 3 classes, 80 templates"
    fi
    got=$("$MODX" zeroshot --ckpt "$ck" --data "$R/data/toy.cache" --vocab "$D/bpe.txt" --batch 8 "${args[@]}")
    exp=$(printf 'zero-shot: %s: top-1 %.2f%%  top-5 %.2f%%' "$want" "$t1" "$t5")
    [ "$got" = "$exp" ] || { echo "$s $p $set: modx zeroshot says '$got', the run '$exp'"; exit 1; }
    # summary.json's zero-shot matrix holds the same numbers (row = phase, column = set)
    col=0; [ $set = colours ] && col=1
    key=$s; [ $s = phase0 ] && key=finetune
    v=$(python3 -c "import json,sys; z=json.load(open('$R/summary.json'))['strategies']['$key']['zeroshot']; \
assert z['test_sets'] == ['names', 'colours']; print('%.4f %.4f' % (z['top1'][$p][$col], z['top5'][$p][$col]))")
    [ "$v" = "$t1 $t5" ] || { echo "$s $p $set: summary.json has $v, metrics $t1 $t5"; exit 1; }
  done
}
check phase0 0 "$R/phase0/model.safetensors"
for s in finetune modx; do for p in 1 2; do check $s $p "$R/$s/phase$p/model.safetensors"; done; done
[ "$(grep -c '"type": "zeroshot"' "$R/metrics.jsonl")" -eq 10 ]
grep -q '^## Zero-shot classification, every phase' "$R/results.md"
grep -q '^### modx: Z\[i\]\[j\]' "$R/summary.md"
# the retrieval matrix keeps the three domain columns: the zero-shot sets are not among them
python3 -c "import json; s=json.load(open('$R/summary.json')); assert s['stream'] == 'domain', s['stream']; \
assert s['strategies']['modx']['matrix']['test_sets'] == ['red', 'green', 'blue']"
# the report: a zero-shot section with one curve plot per zero-shot set (test sets 3 and 4)
grep -q 'Zero-shot accuracy after each phase' "$R/report.html"
"$MODX" report "$R" --regions "$TMP/regions" >/dev/null
grep -q '^plot zs-3 ' "$TMP/regions"
grep -q '^plot zs-4 ' "$TMP/regions"

# killed right after a zero-shot evaluation (5 evaluations per phase: phase 0 = 1-5, finetune
# phase 1 = 6-10; the 9th is its "names"), then resumed: the same records as the uninterrupted run
K="$TMP/killed"
MODX_TEST_KILL_AFTER_EVALS=9 "$MODX" run "$D/exp.json" --out "$K" --quiet --no-report >/dev/null 2>&1 && exit 1
[ "$(grep -c '"type": "zeroshot"' "$K/metrics.jsonl")" -eq 3 ]
"$MODX" run --resume "$K" --quiet --no-report >/dev/null
cmp "$R/results.csv" "$K/results.csv"
cmp "$R/results.md" "$K/results.md"
diff <(metrics_sans_timings "$R/metrics.jsonl") <(metrics_sans_timings "$K/metrics.jsonl")

# bad zero-shot keys: errors naming the file and the key, nothing trained
bad() { # NAME TEST_SET_JSON PATTERN
  bash tests/fixtures/engine/toy_experiment.sh "$D/bad.json" toy "${TOY_TESTS%]}, $2]" '["finetune"]' \
    '{"test_set": "red", "pairs": 4}' '{"epochs": 1, "batch": 4}'
  set +e
  "$MODX" run "$D/bad.json" --out "$TMP/bad-$1" --quiet >"$TMP/bad.out" 2>"$TMP/bad.err"
  local rc=$?
  set -e
  [ "$rc" -ne 0 ] || { echo "$1: accepted"; exit 1; }
  grep -q -- "$3" "$TMP/bad.err" || { echo "$1: stderr lacks '$3':"; cat "$TMP/bad.err"; exit 1; }
  grep -q "bad.json" "$TMP/bad.err" || { echo "$1: the message does not name the file"; cat "$TMP/bad.err"; exit 1; }
  [ ! -e "$TMP/bad-$1/phase0/model.safetensors" ] || { echo "$1: trained before failing"; exit 1; }
}
zset='{"name": "z", "dataset": "toy", "role": "zeroshot"'
bad source "$zset, \"labels\": \"colour\"}" "'test_sets\[3\].labels': expected \"domain\", \"caption\" or a labels file"
: >"$D/empty.txt"
bad empty "$zset, \"templates\": \"empty.txt\"}" "'test_sets\[3\].templates': .*empty.txt: no templates"
printf 'a photo of a thing\n' >"$D/nohole.txt"
bad nohole "$zset, \"templates\": \"nohole.txt\"}" \
  "'test_sets\[3\].templates': .*nohole.txt: template 1 (\"a photo of a thing\") has no {}"
bad classes "$zset, \"classes\": \"empty.txt\"}" "'test_sets\[3\].classes': .*empty.txt: no class names"
bad role '{"name": "z", "dataset": "toy", "templates": "templates.txt"}' \
  "'test_sets\[3\].templates': applies only to \"role\": \"zeroshot\""
printf 'red\ngreen\n' >"$D/two.txt"
bad unknown "$zset, \"split\": \"test\", \"classes\": \"two.txt\"}" "test set 'z' (zero-shot): image 44 has label \"blue\", which is not in"
echo "run zeroshot ok"
