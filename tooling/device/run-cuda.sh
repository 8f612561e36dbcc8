#!/usr/bin/env bash
# Runs on the GPU machine from the repository root, with .device/cuda carried (tooling/device/pack-cuda.sh):
#   1. the shared conformance suite on the CUDA backend, kernels compiled by NVRTC (fatbins ignored),
#      plus the backend's own checks (compile error, out of memory, disk cache);
#   2. the peers: tooling/reference/bench_torch.py (torch SDPA, HF OPT);
#   3. the CUDA benchmarks (prebuilt sm_90 fatbins).
# Writes $OUT/cuda-run.log, cuda-conformance.json, torch-bench.json, cuda-bench.json.
# Env: SEA_DEVICE_BUNDLE (the packed folder, relative to the repository root; default .device/cuda; a
# bench_torch.py inside it is preferred to the tree's), SEA_TORCH=0 skips the peers, SEA_TOTAL_S,
# SEA_CONF_TIMEOUT, SEA_TORCH_TIMEOUT; bench_cuda.mjs and bench_torch.py read SEA_BENCH_* / SEA_TORCH_*.
set -u
# run from tooling/device/ or as the bundle's own run.sh (.device/<name>/run.sh): both sit two below the root
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -f "$(dirname "${BASH_SOURCE[0]}")/bench_cuda.mjs" ]; then P="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
else P="$ROOT/${SEA_DEVICE_BUNDLE:-.device/cuda}"; fi
OUTD="${OUT:-/tmp/sea-cuda-out}"
mkdir -p "$OUTD"
export OUT="$OUTD"
exec > >(tee "$OUTD/cuda-run.log") 2>&1
echo "== machine: $(uname -srm); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
# shellcheck source=common.sh
source "$P/common.sh"
device_env "$P"
echo "node: $("$NODE" --version)"
START=$(date +%s)

echo "== 1. conformance (NVRTC)"
[ "${SEA_CONF:-1}" = 0 ] && echo "skipped (SEA_CONF=0)" || SEA_CUDA_PREBUILT=0 timeout "${SEA_CONF_TIMEOUT:-200}" "$NODE" "$P/run-conformance.mjs" | grep -v '^SKIP' 
echo "conformance exit: ${PIPESTATUS[0]} after $(( $(date +%s) - START )) s"

echo "== 2. peers (torch)"
TORCH_PY="$ROOT/tooling/reference/bench_torch.py"
[ -f "$P/bench_torch.py" ] && TORCH_PY="$P/bench_torch.py"
if [ "${SEA_TORCH:-1}" != 0 ]; then
  PYTHONUNBUFFERED=1 timeout "${SEA_TORCH_TIMEOUT:-150}" python3 "$TORCH_PY"
  echo "torch exit: $? after $(( $(date +%s) - START )) s"
else echo "skipped (SEA_TORCH=0)"; fi

echo "== 3. CUDA benchmarks (fatbin)"
LEFT=$(( ${SEA_TOTAL_S:-570} - ($(date +%s) - START) ))
timeout "$LEFT" "$NODE" "$P/bench_cuda.mjs"
echo "bench exit: $? after $(( $(date +%s) - START )) s"
