#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after tooling/device/pack-webgpu.sh here and with
# carry [".device/webgpu", ".gl"]: installs the carried Vulkan loader, points it at NVIDIA's ICD,
# unpacks Node, then runs (each step switched by its knob):
#   CHECK=1    the WebGPU tests + conformance suite (device-check.mjs; float32, float16 packed and,
#              where the adapter has shader-f16, native; bfloat16 packed), CHECK_ARGS selecting a
#              part (--files, --groups, --dtypes, --float16; test/device/check.ts), stopped at
#              CHECK_BUDGET seconds (default CHECK_TIMEOUT − 15) with a summary of what was left;
#   PROFILE=1  the SEA layer profile (sea-profile.mjs: wall time, enqueue time, submits/read-backs/
#              dispatches per forward and each kernel's GPU time at PROFILE_T, PROFILE_DTYPES;
#              PROFILE_ARGS adds options, e.g. "--flush-every 1000" for one submit per layer);
#   BENCH=1    the matmul / attention benchmark (bench.mjs);
#   GEN=0      the decoding benchmark on WebGPU (bench-generate.mjs = packages/opt/bench/
#              bench_generate.mjs, dense with a K/V cache and SEA; SEA_BENCH_T default
#              1024,4096,16384 here, SEA_BENCH_NEW 32, SEA_BENCH_DTYPES float32,bfloat16).
# Logs and JSON go to $OUT (or .device/webgpu/out when OUT is unset); *_TIMEOUT in seconds.
# One device call runs at most 600 s, so the check goes in parts, e.g. (each one call):
#   CHECK_ARGS="--files mechanics,conformance --groups errors,memory" CHECK_TIMEOUT=200 BENCH=0 bash tooling/device/webgpu-h100.sh
#       (the error paths and memory, every dtype, both float16 paths; then the SEA layer profile)
#   CHECK_ARGS="--files conformance --dtypes float16 --float16 packed" CHECK_TIMEOUT=400 PROFILE=0 BENCH=0 bash tooling/device/webgpu-h100.sh
#   CHECK_ARGS="--files variants,half,conformance --dtypes float32,bfloat16 --float16 default" CHECK_TIMEOUT=500 PROFILE=0 BENCH=0 bash tooling/device/webgpu-h100.sh
#   CHECK=0 PROFILE=0 BENCH=0 GEN=1 bash tooling/device/webgpu-h100.sh
# The check's summary prints the seconds per group, to split the next parts.
set -uo pipefail
W=.device/webgpu
OUT=${OUT:-$W/out}
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /tmp/node
tar -xJf "$W/node.tar.xz" -C /tmp/node 2>/dev/null ||
  python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall('/tmp/node')" "$W/node.tar.xz"
NODE=/tmp/node/node
DAWN="$W/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$DAWN" ] || python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$DAWN.xz" "$DAWN"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$NODE" --version
cd "$W"
if [ "${CHECK:-1}" = 1 ]; then
  CT=${CHECK_TIMEOUT:-540}
  # shellcheck disable=SC2086
  timeout "$CT" "$NODE" device-check.mjs ${CHECK_ARGS:-} --budget "${CHECK_BUDGET:-$((CT > 30 ? CT - 15 : CT))}" 2>&1 |
    grep --line-buffered -v 'artificially reduced' | tee "$OUT/webgpu-check.log"
  echo "device-check exit: ${PIPESTATUS[0]} (0 passed, 1 a failure, 2 the budget left tests unstarted, 124 killed at CHECK_TIMEOUT)"
fi
# The SEA layer at T (default 16384) with each kernel's GPU time, float32 and packed float16.
[ "${PROFILE:-1}" = 1 ] || PROFILE_DTYPES=""
for dt in ${PROFILE_DTYPES-float32 float16}; do
  # shellcheck disable=SC2086
  timeout "${PROFILE_TIMEOUT:-120}" "$NODE" sea-profile.mjs --T "${PROFILE_T:-16384}" --dtype "$dt" --out "$OUT" ${PROFILE_ARGS:-} 2>&1 |
    grep --line-buffered -v 'artificially reduced' | tee "$OUT/webgpu-sea-profile-$dt.log"
  echo "sea-profile $dt exit: ${PIPESTATUS[0]}"
done
if [ "${BENCH:-1}" = 1 ]; then
  timeout "${BENCH_TIMEOUT:-330}" "$NODE" bench.mjs --out "$OUT" ${BENCH_ARGS:-} 2>&1 | grep --line-buffered -v 'artificially reduced' | tee "$OUT/webgpu-bench.log"
  echo "bench exit: ${PIPESTATUS[0]}"
fi
if [ "${GEN:-0}" = 1 ]; then
  SEA_BENCH_BACKEND=webgpu SEA_BENCH_T="${SEA_BENCH_T:-1024,4096,16384}" SEA_BENCH_NEW="${SEA_BENCH_NEW:-32}" \
    SEA_BENCH_DTYPES="${SEA_BENCH_DTYPES:-float32,bfloat16}" OUT="$OUT" \
    timeout "${GEN_TIMEOUT:-540}" "$NODE" bench-generate.mjs 2>&1 | grep --line-buffered -v 'artificially reduced' | tee "$OUT/webgpu-generate.log"
  echo "bench-generate exit: ${PIPESTATUS[0]}"
fi
