# The report reads at a glance at 1400 px (issue 10, item 13): rendered in headless Chromium
# with a script added to a copy of the page (the report itself has none), no page block
# clips its content, no table cell cuts its text (the summary shows every value in full,
# rows sized to their content), and the page needs no horizontal scroll at a 1400 px window.
# The R@1 curves name each phase's domain on the ticks, a missing section says why, loss curves are
# drawn per phase, phase-0 rows appear once and median ranks print as whole numbers.
set -eu
browser=$(bash scripts/setup_chromium.sh) || { echo "no headless chromium (see scripts/setup_chromium.sh)"; exit 1; }
source tests/cli/fake_run.sh
fake_run "$TMP/run" "$TMP/work"
# a second logged step per strategy and phase (fake_run logs one): the loss curves are lines
for s in finetune modx; do for p in 1 2; do
  echo "{\"type\": \"step\", \"strategy\": \"$s\", \"phase\": $p, \"step\": 2, \"steps\": 2, \"loss\": 2.$((${#s} + p)), \"loss_con\": 2.1, \"loss_kl\": 0.$p}" >>"$TMP/run/metrics.jsonl"
done; done
echo '{"type": "step", "strategy": "modx"}' >>"$TMP/run/metrics.jsonl"   # not plottable: counted in the note
# long summary values: a long run name and many test sets
sed -i 's/"name": "fabricated"/"name": "fabricated-run-with-a-name-long-enough-to-need-two-lines-in-its-summary-cell-of-the-report"/' "$TMP/run/run.json"
# median ranks in the evaluation lines
sed -i 's/"rsum": \([0-9]*\)}/"rsum": \1, "i2t_medr": 3, "t2i_medr": 2}/' "$TMP/run/metrics.jsonl"
"$MODX" analyze "$TMP/run" >/dev/null
"$MODX" report "$TMP/run" >/dev/null
"$MODX" report --demo-data "$TMP/demo.html" >/dev/null

check_layout() { # HTML NAME
  local profile page="$TMP/$2.probe.html"
  profile=$(mktemp -d "$TMP/profile.XXXXXX")
  sed 's#</body>#<script>\
var bad = [];\
document.querySelectorAll(".blk").forEach(function (b) {\
  if (b.scrollHeight > b.clientHeight + 1) bad.push("block " + b.className + " " + b.scrollHeight + ">" + b.clientHeight);\
});\
document.querySelectorAll("td, th").forEach(function (c) {\
  if (c.scrollWidth > c.clientWidth + 1) bad.push("cell cut: " + c.textContent.slice(0, 60));\
});\
var d = document.documentElement;\
if (d.scrollWidth > d.clientWidth) bad.push("horizontal scroll " + d.scrollWidth + ">" + d.clientWidth);\
document.body.setAttribute("data-layout", bad.length ? bad.join(" | ") : "OK");\
</script></body>#' "$1" >"$page"
  timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size=1400,900 --dump-dom "file://$page" >"$TMP/$2.dom" 2>"$TMP/$2.log" || true
  local verdict
  verdict=$(grep -o 'data-layout="[^"]*"' "$TMP/$2.dom" || true)
  [ "$verdict" = 'data-layout="OK"' ] || { echo "$2: layout: ${verdict:-no verdict (chromium log below)}"; tail -n 5 "$TMP/$2.log"; exit 1; }
  echo "$2: layout OK"
}
check_layout "$TMP/run/report.html" run
check_layout "$TMP/demo.html" demo

H="$TMP/run/report.html"
# the summary shows values whole: no ellipsis, no hover-only text
if grep -q 'text-overflow:ellipsis' "$H"; then echo "the summary still cuts values with an ellipsis"; exit 1; fi
grep -q 'fabricated-run-with-a-name-long-enough-to-need-two-lines-in-its-summary-cell-of-the-report</td>' "$H"
# phase ticks carry the domain of the phase (run.json: red from phase 0, green from phase 1)
grep -q '>0 red</text>' "$H" && grep -q '>1 green</text>' "$H" || { echo "phase ticks without domain names"; exit 1; }
# a missing section says why: no zero-shot test set in the run, no step lines in the demo data
grep -q 'Not shown: the experiment has no test set with .*role.*zeroshot' "$H"
grep -q 'Not shown: metrics.jsonl has no .*step.* lines' "$TMP/demo.html"
# the loss curves of the run's step lines: a plot per phase with them
grep -q 'data-plot="loss-1"' "$H" && grep -q 'data-plot="loss-2"' "$H"
grep -q '1 step line without .*strategy.*phase.*step.* left out' "$H"
# the full table
python3 - "$H" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
full = h[h.index("<h2>All results</h2>"):]
rows = re.findall(r"<tr>(.*?)</tr>", full)
cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r) for r in rows]
head = cells[0]
body = [[re.sub("<[^>]*>", "", c) for c in r] for r in cells[1:]]
p0 = [r for r in body if r[1] == "0"]
assert len(p0) == 3, ("phase-0 rows, expected one per test set", p0)
assert all(r[0].startswith("phase 0") for r in p0), p0
for name in ("i2t_medr", "t2i_medr"):
    k = head.index(name)
    vals = [r[k] for r in body]
    assert vals and all(re.fullmatch(r"\d+", v) for v in vals), (name, vals)
print("full table: phase 0 once, ranks whole")
PY
echo ok
