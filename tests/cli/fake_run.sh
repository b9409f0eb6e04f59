# Sourced by CLI tests: builds a small fabricated run directory in $1 (scratch
# files in $2) the way the continual engine lays one out (docs/run-directory.md):
# micro-model checkpoints from `modx init` with different seeds stand in for the
# phases, the probe files come from `modx probe` (src/eval/probe.h) on a tiny
# cache prepared from the manifest fixture (6 images), and run.json and
# metrics.jsonl are written here. Strategies finetune and modx (phases 1, 2) and
# joint (phase 2 only). Needs $MODX.
fake_run() { # RUN_DIR WORK_DIR
  local run=$1 work=$2
  mkdir -p "$run" "$work"
  # micro layout with the real CLIP vocabulary (the fixture cache uses it) and E = 4 <= 6 probe pairs
  sed -e 's/"vocab_size": 64/"vocab_size": 49408/' -e 's/"embed_dim": 16/"embed_dim": 4/' configs/micro.json >"$work/cfg.json"
  "$MODX" data prepare --format manifest --input tests/fixtures/data/manifest.jsonl \
    --vocab data/bpe_simple_vocab_16e6.txt.gz --size 16 --context 8 --out "$work/data" >/dev/null
  local seed=1 ck
  for ck in phase0 finetune/phase1 finetune/phase2 modx/phase1 modx/phase2 joint/phase2; do
    mkdir -p "$run/$ck"
    "$MODX" init --config "$work/cfg.json" --seed $seed --out "$run/$ck/model.safetensors" >/dev/null
    "$MODX" probe --ckpt "$run/$ck/model.safetensors" --data "$work/data/dataset.cache" --split all --pairs 6 \
      --out "$run/$ck/probe.safetensors" >/dev/null
    seed=$((seed + 1))
  done
  cat >"$run/run.json" <<'JSON'
{"format": "modx-run-1", "name": "fabricated", "seed": 7,
 "strategies": ["joint", "finetune", "modx"],
 "phases": 2,
 "phase_names": ["red", "green", "blue"],
 "test_sets": [{"name": "red", "role": "domain", "first_phase": 0},
               {"name": "green", "role": "domain", "first_phase": 1},
               {"name": "train-sample", "role": "train_sample"}],
 "probe": {"test_set": "red", "pairs": 6},
 "status": "done",
 "completed": {"joint": 2, "finetune": 2, "modx": 2}}
JSON
  echo '{"name": "fabricated", "epochs": 2, "batch_size": 4, "alpha": 20, "model": "micro"}' >"$run/experiment.json"
  : >"$run/metrics.jsonl"
  local s p t r
  for t in red green train-sample; do
    r=$((30 + ${#t}))
    echo "{\"type\": \"eval\", \"strategy\": \"phase0\", \"phase\": 0, \"test_set\": \"$t\", \"i2t_R@1\": $r.5, \"t2i_R@1\": $((r - 4)).25, \"rsum\": 150}" >>"$run/metrics.jsonl"
  done
  for s in finetune modx; do
    for p in 1 2; do
      echo "{\"type\": \"step\", \"strategy\": \"$s\", \"phase\": $p, \"step\": 1, \"steps\": 2, \"loss\": 3.1, \"lr\": 0.0004}" >>"$run/metrics.jsonl"
      for t in red green train-sample; do
        r=$((30 + ${#t} + (${#s} - 5) * p * 3))
        echo "{\"type\": \"eval\", \"strategy\": \"$s\", \"phase\": $p, \"test_set\": \"$t\", \"i2t_R@1\": $r.5, \"t2i_R@1\": $((r - 4)).25, \"rsum\": $((150 + p))}" >>"$run/metrics.jsonl"
      done
    done
  done
  for t in red green train-sample; do
    echo "{\"type\": \"eval\", \"strategy\": \"joint\", \"phase\": 2, \"test_set\": \"$t\", \"i2t_R@1\": 40, \"t2i_R@1\": 38, \"rsum\": 160}" >>"$run/metrics.jsonl"
  done
}
