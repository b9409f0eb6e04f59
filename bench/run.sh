#!/usr/bin/env bash
# Prints the benchmark figures: a full training step (forward, backward, AdamW)
# of modx and of the PyTorch peer (when Debian's python3-torch is installed),
# side by side, for the tiny and small configs at batch 128 and 2 threads, and a
# Mod-X step; the ResNet configs (rn-tiny at batch 128, RN50 at 224 px, batch 8); then the loader, image and
# webdataset-prepare benchmarks when built.
#   bench/run.sh BUILD_DIR [STEPS]
# Environment (each side in its best setting on this machine, see README):
#   modx:  OMP_NUM_THREADS=2, OpenBLAS (its OpenMP build) sharing those threads,
#          OMP_WAIT_POLICY=passive (waiting threads sleep: on a shared machine a
#          spinning thread steals the core its partner needs)
#   torch: torch.set_num_threads(2), OMP_WAIT_POLICY=passive (its OpenMP threads
#          do not spin between operations; unset, a step takes 10x longer here),
#          and the same OpenMP build of OpenBLAS (LD_LIBRARY_PATH; ~8% faster
#          for it than the pthreads build the alternatives system picks)
# BENCH_OPENBLAS_CORETYPE, when set, replaces the machine's OPENBLAS_CORETYPE for both.
set -u
build=${1:-build}
steps=${2:-10}
cd "$(dirname "$0")/.."
envs=(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2)
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && envs+=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS_CORETYPE")
torch_envs=()
omp_blas=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -e "$omp_blas/libopenblas.so.0" ] && torch_envs+=(LD_LIBRARY_PATH="$omp_blas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); OPENBLAS_CORETYPE=${BENCH_OPENBLAS_CORETYPE:-${OPENBLAS_CORETYPE:-unset}}"
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
# one row: modx, then the PyTorch peer on the same config, batch and mode, and their ratio
pair() {
  local cfg=$1 batch=$2 mode=$3 line tline gflop m t
  line=$(env "${envs[@]}" OMP_WAIT_POLICY=passive "$build/bench/bench_step" "$cfg" --batch "$batch" --steps "$steps" $mode)
  echo "$line"
  if [ "$have_torch" = 1 ]; then
    gflop=$(sed -E 's/.*\(([0-9.]+) GFLOP\/step.*/\1/' <<<"$line")
    tline=$(env "${envs[@]}" "${torch_envs[@]}" OMP_WAIT_POLICY=passive /usr/bin/python3 bench/torch_step.py "$cfg" --batch "$batch" \
            --steps "$steps" --gflop "$gflop" $mode)
    echo "$tline"
    m=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$line"); t=$(sed -E 's/.*median ([0-9.]+) ms.*/\1/' <<<"$tline")
    awk -v m="$m" -v t="$t" -v c="$cfg" -v mo="${mode:-clip}" \
      'BEGIN { printf "ratio %s %s: modx/torch step time = %.2f (%s)\n", c, mo, m / t, (m <= t ? "modx faster or equal" : "modx slower") }'
  else
    echo "(python3-torch not installed: 'bash scripts/setup.sh tools' adds the PyTorch peer)"
  fi
}
for cfg in configs/tiny.json configs/small.json; do
  for mode in "" --modx; do pair "$cfg" 128 "$mode"; done
done
# the ModifiedResNet tower: the small RN config, and an RN50 step at 224 px with a small batch
pair configs/rn-tiny.json 128 ""
pair configs/RN50.json 8 ""
for b in "$build"/bench/bench_loader "$build"/bench/bench_image; do
  [ -x "$b" ] && "$b"
done
# 10k synthetic images in 10 webdataset shards, prepared at 224 px with all cores
[ -x "$build/bench/bench_wds" ] && "$build/bench/bench_wds" 10000 10
exit 0
