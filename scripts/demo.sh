#!/usr/bin/env bash
# The default continual experiment (experiments/emoji.json): emoji of four
# vendors as four domains; a model trained on Apple's emoji first (phase 0),
# then Google, Twitter and Facebook as three new phases; joint, finetune and
# modx compared (MODX_DEMO_FULL=1: all nine strategies, experiments/emoji_full.json;
# MODX_DEMO_SEEDS=1: the same over seeds 0, 1, 2 in one run, experiments/emoji_seeds.json).
#   usage: scripts/demo.sh [BUILD_DIR]     (make demo runs it after building)
# Data setup is idempotent: the caches are rebuilt only when missing or built
# with other settings. Deterministic for the experiment's seed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODX="$BUILD/modx"
EXP=experiments/emoji.json
[ "${MODX_DEMO_FULL:-0}" = 1 ] && EXP=experiments/emoji_full.json
[ "${MODX_DEMO_SEEDS:-0}" = 1 ] && EXP=experiments/emoji_seeds.json
OUT=${MODX_DEMO_OUT:-runs/$(basename "$EXP" .json)}
DATA=data/emoji
SIZE=32 CONTEXT=20 VOCAB=2048 SPLIT_SEED=0
export OMP_WAIT_POLICY=passive   # see src/clip/model.h: spinning OpenMP workers fight the BLAS threads
start=$(date +%s)

bash scripts/setup_npm.sh
stamp="emoji size=$SIZE context=$CONTEXT vocab=$VOCAB seed=$SPLIT_SEED $("$MODX" version 2>/dev/null | head -1)"
if [ -f "$DATA/dataset.cache" ] && [ -f "$DATA/bpe.txt" ] && [ "$(cat "$DATA/stamp" 2>/dev/null)" = "$stamp" ] \
   && "$MODX" data info "$DATA/dataset.cache" --no-crc > /dev/null 2>&1; then
  echo "modx demo: emoji data already prepared in $DATA"
else
  echo "modx demo: preparing the emoji data in $DATA"
  mkdir -p "$DATA"
  rm -f "$DATA/stamp"
  "$MODX" data emoji --seed $SPLIT_SEED --out "$DATA" > /dev/null                      # captions.txt
  "$MODX" tokenizer train --corpus "$DATA/captions.txt" --size $VOCAB --out "$DATA/bpe.txt"
  "$MODX" data emoji --seed $SPLIT_SEED --vocab "$DATA/bpe.txt" --size $SIZE --context $CONTEXT --out "$DATA"
  echo "$stamp" > "$DATA/stamp"
fi

if [ -f "$OUT/run.json" ]; then
  echo "modx demo: continuing the run in $OUT (delete it to start over)"
  "$MODX" run --resume "$OUT"
else
  "$MODX" run "$EXP" --out "$OUT"
fi

# modx run ends by writing $OUT/analysis.json and $OUT/report.html (and prints their paths).
echo "modx demo: done in $(( $(date +%s) - start )) s; run directory $OUT"
