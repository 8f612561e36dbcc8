#!/usr/bin/env bash
# The SEA layer speed run on the GPU machine, from a bundle packed with tooling/device/pack-cuda.sh and
# carried (pack-cuda.sh copies this script into it as run-perf.sh), in about 90 s on an H200:
#   1. every kernel family compiled at once, one process each, into the NVRTC disk cache (a prebuilt
#      fatbin of the bundle is used where its source hash matches);
#   2. a smoke check of uploads through pinned memory (SEA_CUDA_PINNED=0 for the rest where it fails);
#   3. the shared conformance suite on the CUDA backend (conformance.log, cuda-conformance.json);
#   4. the benchmark: copy and GEMM ceilings, the SEA layer at SEA_BENCH_T (default 16k and 32k) in
#      float32 and bfloat16 with the per-stage and per-kernel profile at 32k, the OPT-125m-shaped
#      forward (bench.log, cuda-bench.json);
#   5. the bfloat16 layer at 32k with each fast path in SEA_PERF_TOGGLES turned off in turn.
# Writes into $OUT. Env: SEA_CONF_TIMEOUT, SEA_BENCH_TIMEOUT, SEA_BENCH_*, SEA_PERF_TOGGLES.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export OUT="${OUT:-/tmp/sea-cuda-out}"
mkdir -p "$OUT"
# shellcheck source=common.sh
source "$HERE/common.sh"
device_env "$HERE"
START=$(date +%s)
el() { echo "$(($(date +%s) - START)) s"; }
cd "$HERE" || exit 1
echo "== $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null); node $("$NODE" --version)"
for f in elementwise reduce conv performer topk csr attention; do "$NODE" warm.mjs "$f" & done
wait
echo "== kernels after $(el)"
"$NODE" smoke.mjs || {
  export SEA_CUDA_PINNED=0
  echo "pinned staging off"
}
timeout "${SEA_CONF_TIMEOUT:-45}" "$NODE" run-conformance.mjs >"$OUT/conformance.log" 2>&1
echo "== conformance exit $? after $(el)"
grep -E '^FAIL|^conformance\[' "$OUT/conformance.log" | cut -c1-240 | head -30
SEA_BENCH_T="${SEA_BENCH_T:-16384,32768}" SEA_BENCH_SECTIONS="${SEA_BENCH_SECTIONS:-rates,sea,opt}" \
  SEA_BENCH_PROFILE_T="${SEA_BENCH_PROFILE_T:-32768}" timeout "${SEA_BENCH_TIMEOUT:-60}" "$NODE" bench_cuda.mjs \
  >"$OUT/bench.log" 2>&1
echo "== bench exit $? after $(el)"
grep -E '^SeaAttention|^OPT-125m|^rates|!!' "$OUT/bench.log" | cut -c1-200
for tog in ${SEA_PERF_TOGGLES:-SEA_CUDA_MASK_ATTENTION SEA_CUDA_CONV_MMA SEA_CUDA_PPS_WIDE}; do
  env "$tog=0" OUT= SEA_BENCH_SECTIONS=sea SEA_BENCH_T=32768 SEA_BENCH_DTYPES=bfloat16 SEA_BENCH_PROFILE_T=0 \
    timeout 30 "$NODE" bench_cuda.mjs 2>&1 | grep -E '^SeaAttention|!!' | sed "s/^/$tog=0: /"
done
echo "== done after $(el)"
