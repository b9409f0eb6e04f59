#!/usr/bin/env bash
# Prints the benchmark figures: the machine's matrix-product peak (fp32 and
# bf16, 2048² products, as modx reaches it through core/gemm.h), then a full
# training step (forward, backward, AdamW) of modx and of the PyTorch peer
# (when Debian's python3-torch is installed), side by side, for tiny and small
# at batch 128 and ViT-B/32 at batch 32, plain CLIP and Mod-X, each with its
# share of the fp32 peak and its peak resident memory; modx's bf16 step
# (train.precision) and its Mod-X step with the old-feature cache (the
# training default, train/featcache.h) beside them, with their ratios, each modx row's share also of
# an fp32 peak measured just before it (the machine's speed drifts over the run) (the
# fp32 cache run also interleaves plain steps, so that ratio comes from the
# same minutes of a shared machine as well as from separate runs);
# PyTorch's own bf16 autocast step beside the plain one; under each modx step, its matrix products'
# share of the step and the share of the peak the step would reach if nothing else took time; the ResNet configs (rn-tiny at batch 128, RN50 at
# 224 px, batch 8, plain steps). Then data parallelism (bench_dist: 1 process x 2 threads against
# 2 ranks x 1 thread under mpirun), the loader, image and webdataset-prepare benchmarks.
#   bench/run.sh BUILD_DIR [STEPS]      (ViT-B/32 runs max(3, STEPS/3) steps)
# Environment:
#   modx:  CI's environment as it is (OPENBLAS_CORETYPE untouched: products go
#          to oneDNN, which picks its kernels from the CPU), OMP_NUM_THREADS=2,
#          OMP_WAIT_POLICY=passive (waiting threads sleep: on a shared machine a
#          spinning thread steals the core its partner needs)
#   torch: its best environment: torch.set_num_threads(2), OMP_WAIT_POLICY=passive
#          (unset, a step takes 10x longer here), OPENBLAS_CORETYPE unset (its
#          BLAS picks the CPU's own AVX-512 kernels), and the OpenMP build of
#          OpenBLAS (LD_LIBRARY_PATH; ~8% faster for it than the pthreads build)
# BENCH_OPENBLAS_CORETYPE, when set, replaces OPENBLAS_CORETYPE for modx only.
set -u
build=${1:-build}
steps=${2:-10}
cd "$(dirname "$0")/.."
envs=(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=passive)
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && envs+=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS_CORETYPE")
torch_envs=(-u OPENBLAS_CORETYPE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=passive)
omp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -e "$omp_blas/libopenblas.so.0" ] && torch_envs+=(LD_LIBRARY_PATH="$omp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //');" \
     "modx side OPENBLAS_CORETYPE=${BENCH_OPENBLAS_CORETYPE:-${OPENBLAS_CORETYPE:-unset}}, PyTorch side unset"
peak=$(env "${envs[@]}" "$build/bench/bench_gemm")
echo "$peak"
p32=$(sed -nE 's/^peak fp32 ([0-9.]+) GFLOP.*/\1/p' <<<"$peak")
p16=$(sed -nE 's/^peak bf16 ([0-9.]+) GFLOP.*/\1/p' <<<"$peak")
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
[ "$have_torch" = 1 ] || echo "(python3-torch not installed: 'bash scripts/setup.sh tools' adds the PyTorch peer)"

field() { sed -nE "s|.*$1.*|\\1|p" <<<"$2"; }
# share LINE: the line's GFLOP/s as a share of the run's fp32 and bf16 peaks, and of the fp32 peak
# measured just before the row (now32: a shared machine's speed drifts over a run's minutes).
now32=""
share() {
  local g; g=$(field ' ([0-9.]+) GFLOP/s' "$1")
  [ -n "$g" ] && awk -v g="$g" -v a="$p32" -v b="$p16" -v c="${now32:-0}" \
    'BEGIN { printf "    = %.0f%% of the fp32 peak (%.0f%% of the bf16 peak", 100 * g / a, 100 * g / b
             if (c > 0) printf "; %.0f%% of the fp32 peak just before this row, %.1f GFLOP/s", 100 * g / c, c
             printf ")\n" }'
}
torch_step() { env "${torch_envs[@]}" /usr/bin/python3 bench/torch_step.py "$@"; }
peak_now() {
  now32=$(env "${envs[@]}" "$build/bench/bench_gemm" --fp32-peak | sed -nE 's/^peak fp32 ([0-9.]+) GFLOP.*/\1/p')
}

# ratio NAME A_LINE B_LINE: the step-time ratio of two lines.
ratio() {
  local a b; a=$(field 'median ([0-9.]+) ms.*' "$2"); b=$(field 'median ([0-9.]+) ms.*' "$3")
  [ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" -v n="$1" 'BEGIN { printf "ratio %s = %.2f\n", n, a / b }'
}
for row in "configs/tiny.json 128 modx" "configs/small.json 128 modx" "configs/ViT-B-32.json 32 modx" \
           "configs/rn-tiny.json 128 -" "configs/RN50.json 8 -"; do
  set -- $row
  cfg=$1 B=$2 n=$steps modes=("")
  [ "$3" = modx ] && modes=("" --bf16 --modx "--modx --cache --interleave" "--modx --cache --bf16")
  [ "$B" -le 32 ] && n=$((steps / 3 > 3 ? steps / 3 : 3))
  plain="" tplain="" tbf16="" tmodx=""
  for mode in "${modes[@]}"; do
    peak_now
    out=$(env "${envs[@]}" "$build/bench/bench_step" "$cfg" --batch "$B" --steps "$n" $mode)
    line=$(head -n 1 <<<"$out") prod=$(grep '^    products' <<<"$out")
    echo "$line"; share "$line"
    [ -n "$prod" ] && { echo "$prod"; share "$prod" | sed 's/^    = /    bound from the products alone = /'; }
    grep -v '^    products' <<<"$out" | tail -n +2
    gflop=$(field '\(([0-9.]+) GFLOP/step.*' "$line")
    case "$mode" in
      "") plain=$line ;;
      --bf16) ratio "$cfg bf16/fp32 step time (modx)" "$line" "$plain" ;;
      "--modx --cache --interleave")
        ratio "$cfg Mod-X (cache)/plain fp32 step time (modx, against the plain row's run)" "$line" "$plain"
        echo "ratio $cfg Mod-X (cache)/plain fp32 step time (modx, interleaved) =" \
             "$(sed -nE 's/.*interleaved.*ratio ([0-9.]+).*/\1/p' <<<"$out")" ;;
      "--modx --cache"*) ratio "$cfg Mod-X (cache${mode#--modx --cache})/plain fp32 step time (modx)" "$line" "$plain" ;;
    esac
    [ "$have_torch" = 1 ] || continue
    case "$mode" in
      "")
        peak_now; tplain=$(torch_step "$cfg" --batch "$B" --steps "$n" --gflop "$gflop"); echo "$tplain"; share "$tplain"
        ratio "$cfg clip modx/torch step time" "$line" "$tplain"
        [ "$3" = modx ] || continue
        peak_now; tbf16=$(torch_step "$cfg" --batch "$B" --steps "$n" --gflop "$gflop" --bf16); echo "$tbf16"; share "$tbf16" ;;
      --bf16)
        ratio "$cfg modx bf16/torch fp32 step time" "$line" "$tplain"
        ratio "$cfg modx bf16/torch bf16-autocast step time" "$line" "$tbf16" ;;
      --modx)
        peak_now; tmodx=$(torch_step "$cfg" --batch "$B" --steps "$n" --gflop "$gflop" --modx); echo "$tmodx"; share "$tmodx"
        ratio "$cfg mod-x modx/torch step time" "$line" "$tmodx"
        ratio "$cfg torch Mod-X/plain step time" "$tmodx" "$tplain" ;;
      *) ratio "$cfg modx ${mode#--}/torch mod-x step time" "$line" "$tmodx" ;;
    esac
  done
done
# Data parallelism (README "Many machines"): one process × 2 threads against 2 ranks × 1 thread on
# the same global batch, with the all-gather and gradient-sum time and bytes per step.
if command -v mpirun > /dev/null; then
  for cfg in configs/tiny.json configs/small.json; do
    one=$(env "${envs[@]}" "$build/bench/bench_dist" "$cfg" --batch 128 --steps "$steps")
    two=$(mpirun --oversubscribe --allow-run-as-root -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive -np 2 \
          "$build/bench/bench_dist" "$cfg" --batch 128 --steps "$steps")
    echo "$one"; echo "$two"
    awk -v a="$(field ', ([0-9.]+) samples/s.*' "$one")" -v b="$(field ', ([0-9.]+) samples/s.*' "$two")" -v c="$cfg" \
      'BEGIN { printf "ratio %s: 2 ranks x 1 thread reach %.0f%% of 1 process x 2 threads\n", c, 100 * b / a }'
  done
else
  echo "(mpirun not installed: no data-parallel figures)"
fi
for b in "$build"/bench/bench_loader "$build"/bench/bench_image; do
  [ -x "$b" ] && "$b"
done
# 10k synthetic images in 10 webdataset shards, prepared at 224 px with all cores
[ -x "$build/bench/bench_wds" ] && "$build/bench/bench_wds" 10000 10
exit 0
