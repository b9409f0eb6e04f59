# modx analyze RUN_DIR and modx report RUN_DIR on a fabricated run directory
# (tests/cli/fake_run.sh): every comparison and section is there; --ckpt mode
# equals --features mode on the probe files of the same checkpoints; missing and
# malformed run files give errors naming the file and the item.
set -eu
source tests/cli/fake_run.sh
run="$TMP/run"
fake_run "$run" "$TMP/work"
C="$TMP/work/data/dataset.cache"

"$MODX" analyze "$run" >"$TMP/an.out"
cat "$TMP/an.out"
# joint: phase 0 -> 2 only; finetune and modx: 0->1, 1->2, 0->2
[ "$(grep -cE '^(joint|finetune|modx) +[0-9]->[0-9] ' "$TMP/an.out")" -eq 7 ]
grep -qE '^joint +0->2 ' "$TMP/an.out"
grep -qE '^modx +1->2 ' "$TMP/an.out"
grep -q "^wrote $run/analysis.json$" "$TMP/an.out"
grep -q '"format":[[:space:]]*"modx-analysis-1"' "$run/analysis.json"
[ "$(grep -c '"kind":[[:space:]]*"step"' "$run/analysis.json")" -eq 4 ]
[ "$(grep -c '"kind":[[:space:]]*"overall"' "$run/analysis.json")" -eq 3 ]
grep -q '"b":[[:space:]]*"finetune/phase2/probe.safetensors"' "$run/analysis.json"
ls "$run" | grep -q '\.tmp' && { echo "temporary file left behind"; exit 1; }

# the row finetune 1->2 of the table equals the pairwise analysis of the same probe files
"$MODX" analyze --features "$run/finetune/phase1/probe.safetensors" "$run/finetune/phase2/probe.safetensors" >"$TMP/f.out"
rot=$(grep -E '^image rotation' "$TMP/f.out" | sed -E 's/.*mean ([0-9.]+) .*/\1/')
row=$(grep -E '^finetune +1->2 ' "$TMP/an.out" | awk '{print $3}')
awk -v a="$rot" -v b="$row" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 0.006) }' || { echo "table $row vs pairwise $rot"; exit 1; }

# --ckpt (encode here) equals --features (the probe files) on the same checkpoints
"$MODX" analyze --ckpt "$run/phase0/model.safetensors" "$run/modx/phase1/model.safetensors" --data "$C" --split all \
  --pairs 6 --json "$TMP/ck.json" >"$TMP/ck.out"
"$MODX" analyze --features "$run/phase0/probe.safetensors" "$run/modx/phase1/probe.safetensors" --json "$TMP/fe.json" >"$TMP/fe.out"
grep -q '^probe: 6 pairs from' "$TMP/ck.out"
diff <(grep -vE "^(a: |b: |probe: |wrote )" "$TMP/ck.out") <(grep -vE "^(a: |b: |wrote )" "$TMP/fe.out")
diff <(grep -v -e '"checkpoint_' "$TMP/ck.json") <(grep -v -e '"features_' "$TMP/fe.json")
# the default split (test) of the fixture has one image: too few for a probe set
set +e
"$MODX" analyze --ckpt "$run/phase0/model.safetensors" "$run/modx/phase1/model.safetensors" --data "$C" 2>"$TMP/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q 'probe set of 1 pairs requested from 1 images' "$TMP/err"

# report
"$MODX" report "$run" --regions "$TMP/r.regions" | grep -q "^wrote $run/report.html$"
h="$run/report.html"
head -c 15 "$h" | grep -q '<!DOCTYPE html>'
# 3 accuracy matrices, R@1 x 3 test sets, 2 loss (phases 1 and 2), 2 histograms, 2 topology, 1 inter-modal
[ "$(grep -o 'class="plot"' "$h" | wc -l)" -eq 13 ]
for id in matrix-0 matrix-1 matrix-2 r1-0 r1-1 r1-2 loss-1 loss-2 hist-0 hist-1 topo-0 topo-1 intermodal; do
  grep -q "^plot $id " "$TMP/r.regions"
done
grep -q 'No gallery: ' "$h"   # experiment.json here has no test sets to draw images from
grep -q 'modx report — fabricated' "$h"
grep -q 'Vision rotation, phase 0 → phase 2' "$h"
grep -q 'Text: topology change vs rotation' "$h"
grep -q 'Relative rotation between vision and text' "$h"
grep -q 'batch_size' "$h"   # experiment.json settings in the summary
if grep -q -e '<script' -e 'src=' -e 'href=' "$h"; then echo "report is not self-contained"; exit 1; fi

expect_fail() { # CMD PATTERN ARGS...
  local cmd=$1 pat=$2; shift 2
  set +e
  "$MODX" $cmd "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  set -e
  [ "$rc" -eq 1 ] || { echo "modx $cmd $*: exit $rc, want 1"; cat "$TMP/err"; exit 1; }
  grep -q -- "$pat" "$TMP/err" || { echo "modx $cmd $*: stderr lacks '$pat':"; cat "$TMP/err"; exit 1; }
}
b="$TMP/bad"
reset_bad() { rm -rf "$b"; cp -r "$run" "$b"; }

reset_bad; rm "$b/modx/phase2/probe.safetensors"
expect_fail analyze "$b/modx/phase2/probe.safetensors not found" "$b"
reset_bad; sed -i 's/"completed": {"joint": 2, "finetune": 2, "modx": 2}/"completed": {"joint": 2, "finetune": 2, "modx": 1}/' "$b/run.json"
rm "$b/modx/phase2/probe.safetensors"
"$MODX" analyze "$b" | grep -qE '^modx +0->1 '   # a run in progress: only completed phases
reset_bad; sed -i 's/"role": "train_sample"/"role": "trainsample"/' "$b/run.json"
expect_fail analyze 'test_sets\[2\] ("train-sample"): role "trainsample" is not domain, heldout, train_sample or zeroshot' "$b"
reset_bad; sed -i 's/"format": "modx-run-1"/"format": "modx-run-9"/' "$b/run.json"
expect_fail report "run.json: \"format\" is \"modx-run-9\"" "$b"
reset_bad; rm "$b/run.json"
expect_fail analyze "$b/run.json" "$b"
reset_bad; head -c 150 "$b/phase0/probe.safetensors" >"$b/x" && mv "$b/x" "$b/phase0/probe.safetensors"
expect_fail analyze "$b/phase0/probe.safetensors" "$b"
reset_bad; rm "$b/analysis.json"
expect_fail report "$b/analysis.json not found (run \`modx analyze" "$b"
reset_bad; rm "$b/metrics.jsonl"
expect_fail report "$b/metrics.jsonl not found" "$b"
reset_bad; echo '{"type": "eval", "strategy": "lwf", "phase": 1, "test_set": "red", "i2t_R@1": 3}' >>"$b/metrics.jsonl"
expect_fail report "metrics.jsonl:23: strategy \"lwf\" is not in run.json's \"strategies\"" "$b"
reset_bad; echo '{"type": "eval", "strategy": "modx", "phase": 1, "test_set": "blue", "i2t_R@1": 3}' >>"$b/metrics.jsonl"
expect_fail report "metrics.jsonl:23: test set \"blue\" is not in run.json's \"test_sets\"" "$b"
reset_bad; echo '{"type": "eval", "strategy": "modx", "phase": 1' >>"$b/metrics.jsonl"
expect_fail report "metrics.jsonl:23: expected a JSON object per line" "$b"
reset_bad; sed -i 's/"mean_abs_change_deg"/"mean_abs_change"/' "$b/analysis.json"
expect_fail report 'topology_v "mean_abs_change_deg" must be a number' "$b"
expect_fail report "not a directory" "$TMP/none"
expect_fail analyze "not a directory" "$TMP/none"
echo "analyze/report run ok"
