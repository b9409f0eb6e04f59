#!/usr/bin/env bash
# Installs what modx needs and is missing; safe to run any number of times.
#   scripts/setup.sh build   compiler and libraries (oneDNN, OpenBLAS and its OpenMP build, cJSON, libspng, libjpeg-turbo, zlib, utf8proc,
#                            libarchive for webdataset shards, libwebp, Open MPI for `mpirun -np N modx ...`)
#   scripts/setup.sh test    build + what the test suite needs (Node.js/npm, the emoji data packages, and the
#                            -dev packages a static link against libmodx.a needs: libacl, libzstd, liblz4;
#                            python3 for tools/cl_metrics.py, strace for the durability test)
#   scripts/setup.sh demo    build + Node.js/npm and the emoji data packages (third_party/npm)
#   scripts/setup.sh fuzz    build + clang with libFuzzer
#   scripts/setup.sh tools   build + python3-torch, Pillow, numpy (only to regenerate fixtures / run the PyTorch peer)
# As root it runs apt-get; otherwise it prints the one apt-get line to run and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}

build_pkgs=(gcc make pkg-config libc6-dev libopenblas-dev libopenblas-openmp-dev libdnnl-dev libcjson-dev libspng-dev libjpeg62-turbo-dev
            zlib1g-dev libutf8proc-dev libarchive-dev libwebp-dev
            openmpi-bin libopenmpi-dev)
pkgs=("${build_pkgs[@]}")
case "$mode" in
  build) ;;
  test) pkgs+=(libacl1-dev libzstd-dev liblz4-dev nodejs npm python3 strace) ;;
  demo) pkgs+=(nodejs npm) ;;
  fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
  tools) pkgs+=(python3 python3-torch python3-numpy python3-pil python3-regex) ;;
  *) echo "setup.sh: unknown mode '$mode' (build, test, demo, fuzz, tools)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in *"install ok installed"*) ;; *) missing+=("$p") ;; esac
done
# nodejs may come from elsewhere than Debian; a working node and npm is enough.
if { [ "$mode" = demo ] || [ "$mode" = test ]; } && command -v node >/dev/null && command -v npm >/dev/null; then
  keep=(); for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) keep+=("$p") ;; esac; done
  missing=("${keep[@]+"${keep[@]}"}")
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "modx setup: missing packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "modx setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if { [ "$mode" = demo ] || [ "$mode" = test ]; } && [ -x scripts/setup_npm.sh ]; then
  bash scripts/setup_npm.sh
fi
exit 0
