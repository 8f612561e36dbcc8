#!/usr/bin/env bash
# The half-precision run on the GPU machine, from a bundle packed with
#   SEA_PACK_DEST=<checkout>/.device/half bash tooling/device/pack-cuda.sh
# and carried as .device/half (pack-cuda.sh copies this script into it as run-half.sh):
#   1. run.sh: conformance in float32, bfloat16 and float16 (NVRTC), the torch peers (SDPA fp32/bf16
#      to 128k, HF OPT fp32/bf16, the copy and bf16 GEMM ceilings), the SEA layer at 8k–128k in fp32
#      and bf16 with the per-stage table at 32k and the CSR attention instance sweep in bf16, the
#      OPT-125m-shaped forward in fp32 and bf16 (dense and SEA);
#   2. the same conformance and the bf16 SEA layer at 32k with 16-bit convolutions through cuDNN
#      (SEA_CUDA_CUDNN=1), into $OUT/cudnn/.
# About 5 minutes on an H200. Writes $OUT/{cuda-run.log,cuda-conformance.json,torch-bench.json,cuda-bench.json}
# and the same names under $OUT/cudnn/.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export SEA_BENCH_T="${SEA_BENCH_T:-8192,16384,32768,65536,131072}"
SEA_TOTAL_S="${SEA_TOTAL_S:-300}" SEA_CONF_TIMEOUT=150 SEA_TORCH_TIMEOUT=120 SEA_BENCH_SECTIONS=rates,sea,opt \
  SEA_BENCH_PROFILE_T=32768 SEA_BENCH_SWEEP=bfloat16@32768 bash "$HERE/run.sh" >/dev/null 2>&1
grep -v '^PASS' "$OUT/cuda-run.log" | grep -E 'conformance\[|FAIL|SDPA|HF OPT|ceilings|rates|SeaAttention|OPT-125m|cuDNN|!!|exit' | cut -c1-300
OUT="$OUT/cudnn" SEA_TORCH=0 SEA_CUDA_CUDNN=1 SEA_TOTAL_S=90 SEA_BENCH_T=32768 SEA_BENCH_SECTIONS=sea \
  SEA_BENCH_DTYPES=bfloat16 SEA_BENCH_PROFILE_T=32768 bash "$HERE/run.sh" 2>&1 |
  grep -v '^PASS' | grep -E 'conformance\[|FAIL|SeaAttention|conv2d|cuDNN|!!' | cut -c1-300
