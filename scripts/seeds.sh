#!/usr/bin/env bash
# The default experiment over several seeds, and the table of mean ± standard
# deviation over them of R@1 (mean of image->text and text->image) on every test
# set after the last phase — the figures in README's "Results".
#   usage: scripts/seeds.sh [BUILD_DIR] [SEEDS...]      (default seeds 0 1 2)
#   MODX_SEEDS_EXP=experiments/emoji_full.json scripts/seeds.sh   for all nine strategies
# Each seed runs into runs/<name>-seed<S> (resumed when it is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}; shift || true
SEEDS=${*:-0 1 2}
EXP=${MODX_SEEDS_EXP:-experiments/emoji.json}
NAME=$(basename "$EXP" .json)
export OMP_WAIT_POLICY=passive
dirs=()
for s in $SEEDS; do
  d=runs/$NAME-seed$s
  if [ -f "$d/run.json" ]; then "$BUILD/modx" run --resume "$d" --quiet > /dev/null
  else "$BUILD/modx" run "$EXP" --out "$d" --seed "$s" --quiet > /dev/null; fi
  dirs+=("$d")
done
seeds_table() {
  awk -F, '
    FNR == 1 || $4 == "zeroshot" { next }
    { key = $1 SUBSEP $3; r1 = ($7 + $10) / 2
      if ($1 != "phase0" && $2 > maxp[FILENAME]) maxp[FILENAME] = $2
      row[FILENAME, key, $2] = r1; keys[key] = 1; strat[$1] = 1; test[$3] = 1
      if (!($3 in tord)) { tord[$3] = ++nt; tname[nt] = $3 }
      if (!($1 in sord)) { sord[$1] = ++ns; sname[ns] = $1 }
      files[FILENAME] = 1 }
    END {
      printf "| strategy |"; for (t = 1; t <= nt; t++) printf " %s |", tname[t]; printf " mean |\n|---|"
      for (t = 0; t <= nt; t++) printf "---:|"; printf "\n"
      for (s = 1; s <= ns; s++) {
        printf "| %s |", sname[s]
        for (t = 0; t <= nt; t++) { sum[t] = 0; sq[t] = 0; n[t] = 0 }
        for (f in files) {
          p = sname[s] == "phase0" ? 0 : maxp[f]; m = 0
          for (t = 1; t <= nt; t++) { v = row[f, sname[s] SUBSEP tname[t], p]; sum[t] += v; sq[t] += v * v; n[t]++; m += v }
          m /= nt; sum[0] += m; sq[0] += m * m; n[0]++ }
        for (t = 1; t <= nt; t++) out(sum[t], sq[t], n[t]); out(sum[0], sq[0], n[0]); printf "\n" } }
    function out(a, b, k,   mu, sd) { mu = a / k; sd = k > 1 ? sqrt((b - k * mu * mu) / (k - 1)) : 0
      if (sd < 0 || sd != sd) sd = 0; printf " %.1f ± %.1f |", mu, sd }' "$@"
}
files=(); for d in "${dirs[@]}"; do files+=("$d/results.csv"); done
echo "R@1 (%, mean of i2t and t2i) after the last phase; mean ± sd over seeds $SEEDS ($EXP)"
seeds_table "${files[@]}"
