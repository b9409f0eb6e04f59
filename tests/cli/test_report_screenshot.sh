# The demo-data report, the report of a fabricated run directory
# (tests/cli/fake_run.sh) and that of a real tiny `modx run` render in headless Chromium and every plot's data
# area in the screenshot holds coloured (data) pixels and sits on its plot frame.
# A negative control hides the data layers; the checker must then fail.
# Installs Debian's chromium when absent (as root), via scripts/setup_chromium.sh.
set -eu
browser=$(bash scripts/setup_chromium.sh) || { echo "no headless chromium (see scripts/setup_chromium.sh)"; exit 1; }

"$MODX" report --demo-data "$TMP/report.html" --regions "$TMP/report.regions"
read -r page_w page_h < <(awk '$1 == "page" { print $2, $3 }' "$TMP/report.regions")
[ "$page_w" -gt 0 ] && [ "$page_h" -gt 0 ]

shoot() { # HTML PNG [W H]
  local profile
  profile=$(mktemp -d "$TMP/profile.XXXXXX")
  timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" --screenshot="$2" --window-size="${3:-$page_w},${4:-$page_h}" "file://$1" \
    >"$TMP/chromium.log" 2>&1 || true
  if [ ! -s "$2" ]; then
    echo "chromium wrote no screenshot $2:"; tail -n 20 "$TMP/chromium.log"; exit 1
  fi
}

shoot "$TMP/report.html" "$TMP/report.png"
"$MODX" report --check-png "$TMP/report.png" --regions "$TMP/report.regions" | tee "$TMP/check.out"
grep -q '^16 plots rendered$' "$TMP/check.out"
# the continual-learning plots: keep-vs-learn (with sd bars) and one accuracy matrix per strategy
grep -q '^ok    keep-learn ' "$TMP/check.out"
[ "$(grep -c '^ok    matrix-' "$TMP/check.out")" -eq 6 ]
if [ -n "${MODX_REPORT_SCREENSHOT_KEEP:-}" ]; then cp "$TMP/report.png" "$MODX_REPORT_SCREENSHOT_KEEP"; fi

# Negative control: the same page with every plot's data layer hidden.
sed 's/<g class="data"/<g class="data" display="none"/g' "$TMP/report.html" >"$TMP/blank.html"
[ "$(grep -c 'display="none"' "$TMP/blank.html")" -ge 1 ]
shoot "$TMP/blank.html" "$TMP/blank.png"
set +e
"$MODX" report --check-png "$TMP/blank.png" --regions "$TMP/report.regions" >"$TMP/blank.out" 2>"$TMP/blank.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "checker accepted a page without plot data (rc $rc)"; cat "$TMP/blank.out"; exit 1; }
grep -q 'looks blank' "$TMP/blank.err"
[ "$(grep -c '^BLANK' "$TMP/blank.out")" -eq 16 ] || { echo "not every hidden plot was called blank:"; cat "$TMP/blank.out"; exit 1; }

# Negative control: boxes shifted off the plot frames (a layout that did not hold) are caught.
awk '$1 == "plot" { $3 += 9 } { print }' "$TMP/report.regions" >"$TMP/shifted.regions"
set +e
"$MODX" report --check-png "$TMP/report.png" --regions "$TMP/shifted.regions" >"$TMP/shift.out" 2>"$TMP/shift.err"
rc=$?
set -e
[ "$rc" -eq 1 ] || { echo "checker accepted boxes off their frames (rc $rc)"; cat "$TMP/shift.out"; exit 1; }
grep -q 'not on the plot frame' "$TMP/shift.err"

# The report of a run directory: analysis and metrics read from the files.
source tests/cli/fake_run.sh
fake_run "$TMP/run" "$TMP/work"
# a second logged step per strategy and phase (fake_run logs one): the loss curves are lines
for s in finetune modx; do for p in 1 2; do
  echo "{\"type\": \"step\", \"strategy\": \"$s\", \"phase\": $p, \"step\": 2, \"steps\": 2, \"loss\": 2.$((${#s} + p)), \"loss_con\": 2.1, \"loss_kl\": 0.$p}" >>"$TMP/run/metrics.jsonl"
done; done
"$MODX" analyze "$TMP/run" >/dev/null
"$MODX" report "$TMP/run" --regions "$TMP/run.regions" >/dev/null
read -r run_w run_h < <(awk '$1 == "page" { print $2, $3 }' "$TMP/run.regions")
shoot "$TMP/run/report.html" "$TMP/run.png" "$run_w" "$run_h"
"$MODX" report --check-png "$TMP/run.png" --regions "$TMP/run.regions" | tee "$TMP/run.out"
grep -q '^13 plots rendered$' "$TMP/run.out"
# the loss curves of the phases with "step" lines (finetune and modx at phases 1 and 2)
[ "$(grep -c '^ok    loss-[12] ' "$TMP/run.out")" -eq 2 ]
# random/contiguous-like columns (no test set per phase): no keep-vs-learn plot, one matrix per strategy
if grep -q 'keep-learn' "$TMP/run.out"; then echo "a keep-vs-learn plot without kept/learned figures"; exit 1; fi
[ "$(grep -c '^ok    matrix-' "$TMP/run.out")" -eq 3 ]
if [ -n "${MODX_REPORT_SCREENSHOT_KEEP:-}" ]; then cp "$TMP/run.png" "${MODX_REPORT_SCREENSHOT_KEEP%.png}-run.png"; fi

# The report of a real run (modx run on the tiny fabricated dataset, as the
# demo does on the emoji data): every plot of it renders. The probe has more
# pairs than the embedding has dimensions (20 > 16), so the inter-modal
# relative rotation is determined and plotted too. A zero-shot test set (the
# test images' first captions as classes) gets its per-phase accuracy curve.
export OMP_WAIT_POLICY=passive
bash tests/fixtures/engine/make_toy.sh "$MODX" "$TMP/toy"
bash tests/fixtures/engine/toy_experiment.sh "$TMP/toy/exp.json" toy \
  '[{"name": "red", "dataset": "toy", "split": "test", "domains": ["red"]},
               {"name": "green", "dataset": "toy", "split": "test", "domains": ["green"]},
               {"name": "blue", "dataset": "toy", "split": "test", "domains": ["blue"]},
               {"name": "fit", "dataset": "toy", "split": "train", "sample": 24, "role": "train_sample"},
               {"name": "names", "dataset": "toy", "split": "test", "role": "zeroshot", "labels": "caption"}]' \
  '["joint", "finetune", "modx"]' \
  '{"test_set": "fit", "pairs": 20}' \
  '{"epochs": 2, "batch": 4, "lr": 1e-3, "alpha": 1, "log_every": 1, "eval_batch": 8}'
"$MODX" run "$TMP/toy/exp.json" --out "$TMP/real" --quiet > "$TMP/real.out"
grep -q "report: $TMP/real/report.html" "$TMP/real.out"
"$MODX" report "$TMP/real" --regions "$TMP/real.regions" >/dev/null
read -r real_w real_h < <(awk '$1 == "page" { print $2, $3 }' "$TMP/real.regions")
shoot "$TMP/real/report.html" "$TMP/real.png" "$real_w" "$real_h"
"$MODX" report --check-png "$TMP/real.png" --regions "$TMP/real.regions" | tee "$TMP/real.check"
grep -q '^18 plots rendered$' "$TMP/real.check"
# a loss curve per phase (the shared phase 0, then the strategies' phases 1 and 2)
[ "$(grep -c '^ok    loss-' "$TMP/real.check")" -eq 3 ]
# finetune and modx end alike on this tiny run: the plots name the curves and points drawn over each other
grep -q 'Drawn over each other: finetune = modx (both)' "$TMP/real/report.html"
grep -q 'Drawn over each other: finetune = modx</text>' "$TMP/real/report.html"
# phase ticks name the domain of the phase
grep -q '>1 green</text>' "$TMP/real/report.html"
# the zero-shot accuracy curve of test set 4 (top-1 and top-5 per strategy and phase)
grep -q '^ok    zs-4 ' "$TMP/real.check"
# the retrieval gallery's thumbnails (phase 0, finetune and modx after the last phase) are drawn
grep -q '^ok    gallery ' "$TMP/real.check"
[ "$(grep -o 'src="data:image/png;base64,' "$TMP/real/report.html" | wc -l)" -ge 30 ]
grep -q '^ok    keep-learn ' "$TMP/real.check"
[ "$(grep -c '^ok    matrix-' "$TMP/real.check")" -eq 3 ]
if [ -n "${MODX_REPORT_SCREENSHOT_KEEP:-}" ]; then cp "$TMP/real.png" "${MODX_REPORT_SCREENSHOT_KEEP%.png}-real.png"; fi

# A run with "seeds": RUN_DIR/report.html shows the figures over the seeds, the keep-vs-learn scatter with
# ± sd bars; every plot renders, and the bars are drawn (hiding them takes coloured pixels out of the scatter).
sed 's/^ "train":/ "seeds": [0, 1],\n "train":/' "$TMP/toy/exp.json" > "$TMP/toy/seeds.json"
"$MODX" run "$TMP/toy/seeds.json" --out "$TMP/seeds" --quiet > /dev/null
"$MODX" report "$TMP/seeds" --regions "$TMP/seeds.regions" >/dev/null
grep -q 'mean ± sd over seeds' "$TMP/seeds/report.html"
[ "$(grep -c '<g class="error-bars"' "$TMP/seeds/report.html")" -ge 1 ] || { echo "no sd bars in the seeds report"; exit 1; }
read -r seeds_w seeds_h < <(awk '$1 == "page" { print $2, $3 }' "$TMP/seeds.regions")
shoot "$TMP/seeds/report.html" "$TMP/seeds.png" "$seeds_w" "$seeds_h"
"$MODX" report --check-png "$TMP/seeds.png" --regions "$TMP/seeds.regions" | tee "$TMP/seeds.check"
grep -q '^18 plots rendered$' "$TMP/seeds.check"
grep -q '^ok    keep-learn ' "$TMP/seeds.check"
sed 's/<g class="error-bars"/<g class="error-bars" display="none"/g' "$TMP/seeds/report.html" > "$TMP/seeds/nobars.html"
shoot "$TMP/seeds/nobars.html" "$TMP/nobars.png" "$seeds_w" "$seeds_h"
"$MODX" report --check-png "$TMP/nobars.png" --regions "$TMP/seeds.regions" > "$TMP/nobars.check" || true
coloured() { awk '$2 == "keep-learn" { for (i = 1; i < NF; i++) if ($i == "coloured") print $(i + 1) }' "$1"; }
with=$(coloured "$TMP/seeds.check"); without=$(coloured "$TMP/nobars.check")
echo "keep-learn coloured pixels: $with with the sd bars, $without without"
[ -n "$with" ] && [ -n "$without" ] && [ "$with" -gt "$without" ] || { echo "the sd bars drew nothing"; exit 1; }
if [ -n "${MODX_REPORT_SCREENSHOT_KEEP:-}" ]; then cp "$TMP/seeds.png" "${MODX_REPORT_SCREENSHOT_KEEP%.png}-seeds.png"; fi
