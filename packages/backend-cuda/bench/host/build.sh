#!/usr/bin/env bash
# Builds the host-cost stub (cuda_stub.c) into $1 (default /tmp/sea-cuda-stub) and links the names
# the backend looks for to it: libcuda.so.1, libnvrtc.so.13, libcublas.so.13, libcublasLt.so.13.
# Then: SEA_LIBCUDA=$DIR/libcuda.so.1 SEA_CUDA_LIB_DIRS=$DIR (bench_host.mjs sets these itself).
set -eu
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-/tmp/sea-cuda-stub}"
mkdir -p "$DIR"
gcc -O2 -shared -fPIC -Wall -Wextra -Wl,-soname,libseacudastub.so -o "$DIR/libseacudastub.so" "$HERE/cuda_stub.c"
for n in libcuda.so.1 libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do ln -sf libseacudastub.so "$DIR/$n"; done
echo "$DIR"
