#!/usr/bin/env bash
# Runs on the GPU machine, from the repo root, after tooling/device/pack-webgpu.sh here and with
# carry [".device/webgpu", ".gl"]: installs the carried Vulkan loader, points it at NVIDIA's ICD,
# unpacks Node, then runs the WebGPU tests + conformance suite and the benchmark. Logs and the
# benchmark JSON go to $OUT (or .device/webgpu/out when OUT is unset).
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
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$NODE" --version
cd "$W"
timeout "${CHECK_TIMEOUT:-200}" "$NODE" device-check.mjs 2>&1 | grep -v 'artificially reduced' | tee "$OUT/webgpu-check.log"
echo "device-check exit: ${PIPESTATUS[0]}"
timeout "${BENCH_TIMEOUT:-330}" "$NODE" bench.mjs --out "$OUT" ${BENCH_ARGS:-} 2>&1 | grep -v 'artificially reduced' | tee "$OUT/webgpu-bench.log"
echo "bench exit: ${PIPESTATUS[0]}"
