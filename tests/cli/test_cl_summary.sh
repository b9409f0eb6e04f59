# The continual-learning summary of a real tiny run (modx run on the toy
# domain stream red -> green -> blue): summary.json and summary.md are written
# by the run's report step and again by `modx report RUN_DIR`, every figure is
# recomputed from the file's own matrices by tools/cl_metrics.py and agrees to
# 1e-6, and a tampered figure is caught.
set -eu
export OMP_WAIT_POLICY=passive
D="$TMP/toy"
bash tests/fixtures/engine/make_toy.sh "$MODX" "$D"
bash tests/fixtures/engine/toy_experiment.sh "$D/exp.json" toy \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]},
               {"name": "green", "dataset": "toy", "split": "test", "domains": ["green"]},
               {"name": "blue", "dataset": "toy", "split": "test", "domains": ["blue"]},
               {"name": "fit", "dataset": "toy", "split": "train", "sample": 8, "role": "train_sample"}]' \
  '["joint", "finetune", "modx"]' \
  '{"test_set": "red", "pairs": 4}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "log_every": 1, "eval_batch": 8}'
R="$TMP/run"
"$MODX" run "$D/exp.json" --out "$R" --quiet > "$TMP/out"
for f in summary.json summary.md; do [ -s "$R/$f" ] || { echo "modx run wrote no $f"; exit 1; }; done
python3 tools/cl_metrics.py "$R/summary.json" | tee "$TMP/check"
grep -q '^agree to 1e-06: 3 strategies$' "$TMP/check"
# the shape: a domain stream of T = 2 with the three domains as columns, phase 0 shared
python3 - "$R/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["format"] == "modx-summary-1" and s["stream"] == "domain" and s["T"] == 2, (s["stream"], s["T"])
st = s["strategies"]
assert list(st) == ["joint", "finetune", "modx"], list(st)
for name, x in st.items():
    m = x["matrix"]
    assert m["phases"] == [0, 1, 2] and m["test_sets"] == ["red", "green", "blue"], m
    assert m["r1"][0] == st["finetune"]["matrix"]["r1"][0], "phase 0 is the shared start"
    for k in ("last", "avg_incremental", "bwt", "fwt", "forgetting", "kept_pct", "learned_pct", "compute"):
        assert k in x, (name, k)
for name in ("finetune", "modx"):
    x = st[name]
    assert all(v is not None for r in x["matrix"]["r1"] for v in r), name
    assert all(x[k] is not None for k in ("last", "avg_incremental", "bwt", "fwt", "forgetting")), name
    c = x["compute"]
    # 2 phases x 2 epochs over the toy domain at batch 4: steps from the step lines, samples = steps x batch
    assert c["train_steps"] > 0 and c["train_samples"] == 4 * c["train_steps"], c
    assert c["train_wall_s"] is not None and c["train_wall_s"] > 0, c
    # the trainer's compute lines: pair-level passes, the frozen model's forwards for Mod-X only
    # (its per-phase cache: (images + captions drawn) / 2 pair-passes, at most one per pair trained)
    assert c["forward_passes"] == c["train_samples"] == c["backward_passes"], c
    f = c["frozen_forward_passes"]
    assert (0 < f <= c["train_samples"]) if name == "modx" else f == 0, (name, c)
    assert c["matmul_flops"] > 0 and c["peak_rss_bytes"] > 0, c
assert st["joint"]["matrix"]["r1"][1] == [None, None, None], "joint has no phase-1 model"
assert abs(st["finetune"]["learned_pct"] - 100) < 1e-9 and abs(st["joint"]["kept_pct"] - 100) < 1e-9
assert s["phase0"]["compute"]["train_steps"] > 0
PY
grep -q '^| modx |' "$R/summary.md"
grep -q 'Continual-learning figures' "$R/report.html"
grep -q 'data-plot="keep-learn"' "$R/report.html"
# modx report RUN_DIR writes the same summary again
cp "$R/summary.json" "$TMP/first.json"
rm "$R/summary.json" "$R/summary.md"
"$MODX" report "$R" > /dev/null
cmp "$R/summary.json" "$TMP/first.json"
[ -s "$R/summary.md" ]
# a figure that does not follow from the matrix is caught
python3 - "$R/summary.json" "$TMP/bad.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["strategies"]["modx"]["bwt"] += 1e-5
json.dump(s, open(sys.argv[2], "w"))
PY
if python3 tools/cl_metrics.py "$TMP/bad.json" > "$TMP/bad.out"; then echo "a changed BWT was not caught"; exit 1; fi
grep -q '^MISMATCH modx bwt' "$TMP/bad.out"

# A fabricated run (tests/cli/fake_run.sh) whose domain test sets do not cover every phase: the columns are the
# listed sets (the train sample left out) and only Last and the average apply. Its "compute" lines (what the
# trainer will write) are summed over phases, the peak is the largest, and a step line's rate gives wall time.
source tests/cli/fake_run.sh
F="$TMP/fake"
fake_run "$F" "$TMP/work"
cat >>"$F/metrics.jsonl" <<'JSONL'
{"type": "step", "strategy": "modx", "phase": 1, "step": 2, "steps": 2, "loss": 3.0, "samples_per_s": 8}
{"type": "compute", "strategy": "modx", "phase": 1, "samples": 8, "forward_passes": 100, "backward_passes": 100, "frozen_forward_passes": 100, "matmul_flops": 1e9, "peak_rss_bytes": 5000, "eval_s": 1.5}
{"type": "compute", "strategy": "modx", "phase": 2, "samples": 4, "forward_passes": 60, "backward_passes": 60, "frozen_forward_passes": 60, "matmul_flops": 2e9, "peak_rss_bytes": 7000, "eval_s": 0.5}
JSONL
"$MODX" analyze "$F" > /dev/null
"$MODX" report "$F" > /dev/null
python3 tools/cl_metrics.py "$F/summary.json" > "$TMP/fake.check"
grep -q '^agree to 1e-06: 3 strategies$' "$TMP/fake.check"
python3 - "$F/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["stream"] == "sets" and s["T"] == 2, s["stream"]
m = s["strategies"]["modx"]
assert m["matrix"]["test_sets"] == ["red", "green"], m["matrix"]["test_sets"]
assert m["last"] is not None and m["avg_incremental"] is not None
assert all(m[k] is None for k in ("bwt", "fwt", "forgetting", "kept_pct", "learned_pct")), m
c = m["compute"]
# steps: phase 1 ends at step 2, phase 2 at step 1 (fake_run's lines); samples from the compute lines
assert c["train_steps"] == 3 and c["train_samples"] == 12, c
assert c["train_wall_s"] is None, "fake_run's step lines carry no rate"
assert c["forward_passes"] == 160 and c["backward_passes"] == 160 and c["frozen_forward_passes"] == 160, c
assert c["matmul_flops"] == 3e9 and c["peak_rss_bytes"] == 7000 and c["eval_wall_s"] == 2.0, c
f = s["strategies"]["finetune"]["compute"]
assert f["forward_passes"] is None and f["train_steps"] == 2, f
PY
