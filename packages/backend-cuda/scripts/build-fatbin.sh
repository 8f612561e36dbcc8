#!/usr/bin/env bash
# Prebuilds the kernels for Hopper (sm_90 SASS + compute_90 PTX) with nvcc into dist/kernels/, each
# with the sha256 of its source; the backend loads a fatbin only while that hash matches the .cu
# beside it, and compiles with NVRTC otherwise. Needs nvcc (CUDA 12+); no GPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ARCH="${SEA_CUDA_ARCH:-90}"
mkdir -p dist/kernels
for src in src/kernels/*.cu; do
  f="$(basename "$src" .cu)"
  cp "$src" "dist/kernels/$f.cu"
  nvcc -std=c++17 -fatbin -arch="sm_$ARCH" -o "dist/kernels/$f.sm_$ARCH.fatbin" "$src"
  sha256sum "$src" | cut -d' ' -f1 > "dist/kernels/$f.sm_$ARCH.fatbin.sha256"
  echo "built dist/kernels/$f.sm_$ARCH.fatbin ($(stat -c %s "dist/kernels/$f.sm_$ARCH.fatbin") bytes)"
done
