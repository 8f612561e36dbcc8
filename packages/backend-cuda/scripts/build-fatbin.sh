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
  cp src/kernels/half.cuh dist/kernels/half.cuh
  # the loader compiles half.cuh + <family>.cu as one text (modules.ts familySource) and hashes that
  full="$(mktemp --suffix=.cu)"
  { cat src/kernels/half.cuh; echo; cat "$src"; } >"$full"
  hash="$(sha256sum "$full" | cut -d' ' -f1)"
  if [ -f "dist/kernels/$f.sm_$ARCH.fatbin" ] && [ "$(cat "dist/kernels/$f.sm_$ARCH.fatbin.sha256" 2>/dev/null)" = "$hash" ]; then
    echo "dist/kernels/$f.sm_$ARCH.fatbin is current"
    rm -f "$full"
    continue
  fi
  nvcc -std=c++17 -fatbin -arch="sm_$ARCH" -o "dist/kernels/$f.sm_$ARCH.fatbin" "$full"
  echo "$hash" > "dist/kernels/$f.sm_$ARCH.fatbin.sha256"
  rm -f "$full"
  echo "built dist/kernels/$f.sm_$ARCH.fatbin ($(stat -c %s "dist/kernels/$f.sm_$ARCH.fatbin") bytes)"
done
