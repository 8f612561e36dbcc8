#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after tooling/device/pack-webgpu.sh here and with
# carry [".device/webgpu", ".gl"]: installs the carried Vulkan loader, points it at NVIDIA's ICD,
# unpacks Node, then runs the WebGPU tests + conformance suite (float32, float16 packed and, where
# the adapter has shader-f16, native; bfloat16 packed), the SEA layer profile (sea-profile.mjs:
# wall time and each kernel's GPU time at T=16384, float32 and float16) and the benchmark. Logs and
# JSON go to $OUT (or .device/webgpu/out when OUT is unset). Knobs: CHECK=0 skips the tests,
# PROFILE=0 the profile, BENCH=0 the benchmark; PROFILE_T, PROFILE_DTYPES, *_TIMEOUT. One device
# call runs at most 600 s: run the tests alone (PROFILE=0 BENCH=0), then CHECK=0.
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
  timeout "${CHECK_TIMEOUT:-540}" "$NODE" device-check.mjs 2>&1 | grep -v 'artificially reduced' | tee "$OUT/webgpu-check.log"
  echo "device-check exit: ${PIPESTATUS[0]}"
fi
# The SEA layer at T (default 16384) with each kernel's GPU time, float32 and packed float16.
[ "${PROFILE:-1}" = 1 ] || PROFILE_DTYPES=""
for dt in ${PROFILE_DTYPES-float32 float16}; do
  timeout "${PROFILE_TIMEOUT:-120}" "$NODE" sea-profile.mjs --T "${PROFILE_T:-16384}" --dtype "$dt" --out "$OUT" 2>&1 |
    grep -v 'artificially reduced' | tee "$OUT/webgpu-sea-profile-$dt.log"
  echo "sea-profile $dt exit: ${PIPESTATUS[0]}"
done
if [ "${BENCH:-1}" = 1 ]; then
  timeout "${BENCH_TIMEOUT:-330}" "$NODE" bench.mjs --out "$OUT" ${BENCH_ARGS:-} 2>&1 | grep -v 'artificially reduced' | tee "$OUT/webgpu-bench.log"
  echo "bench exit: ${PIPESTATUS[0]}"
fi
