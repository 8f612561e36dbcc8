#!/usr/bin/env bash
# Decoding benchmark on the GPU machine, from the repository root, with the CUDA bundle carried
# (bash tooling/device/pack-cuda.sh here first; carry [".device/cuda"]):
#   1. packages/opt/bench/bench_generate.mjs: this project's dense (K/V cache) and SEA decoding, CUDA;
#   2. tooling/reference/bench_generate_torch.py: Hugging Face generate, bf16 and fp32 (the peer).
# Writes $OUT/generate-run.log, generate-bench.json, generate-torch.json.
# Env: SEA_BENCH_T (default 1024,4096,16384,32768), SEA_BENCH_NEW (64), SEA_BENCH_KINDS (dense,sea),
# SEA_TORCH=0 skips the peer, SEA_GEN_TIMEOUT / SEA_TORCH_TIMEOUT (seconds, default 360 / 200),
# SEA_DECODE_FUSED=0 decodes with the composed ops instead of the step primitives (both scripts).
# SEA_GENERATE_PARITY=1 first runs packages/opt/bench/decode_parity.mjs (incremental logits against
# the full forward for dense/Performer/SEA, float32 and bfloat16, on CUDA; writes decode-parity.json;
# SEA_PARITY_* as in the script, SEA_PARITY_TIMEOUT seconds, default 300), and the script then exits
# non-zero when it fails; SEA_GENERATE_BENCH=0 skips the benchmark and the peer (parity only).
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
P="$ROOT/${SEA_DEVICE_BUNDLE:-.device/cuda}"
OUTD="${OUT:-/tmp/sea-generate-out}"
mkdir -p "$OUTD"
export OUT="$OUTD"
exec > >(tee "$OUTD/generate-run.log") 2>&1
echo "== machine: $(uname -srm); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"
# shellcheck source=common.sh
source "$P/common.sh"
device_env "$P"
# the bench resolves @sea/* from the bundle's node_modules
cp "$ROOT/packages/opt/bench/bench_generate.mjs" "$ROOT/packages/opt/bench/decode_parity.mjs" "$P/"
PARITY_RC=0
if [ "${SEA_GENERATE_PARITY:-0}" = 1 ]; then
  echo "== 0. decoding parity: incremental logits against the full forward (CUDA)"
  timeout "${SEA_PARITY_TIMEOUT:-300}" "$NODE" "$P/decode_parity.mjs"
  PARITY_RC=$?
  echo "parity exit: $PARITY_RC"
fi
if [ "${SEA_GENERATE_BENCH:-1}" = 0 ]; then exit "$PARITY_RC"; fi
echo "== 1. sea decoding (CUDA)"
timeout "${SEA_GEN_TIMEOUT:-360}" "$NODE" "$P/bench_generate.mjs"
echo "sea exit: $?"
echo "== 2. peer: Hugging Face generate"
if [ "${SEA_TORCH:-1}" != 0 ]; then
  PYTHONUNBUFFERED=1 timeout "${SEA_TORCH_TIMEOUT:-200}" python3 "$ROOT/tooling/reference/bench_generate_torch.py"
  echo "torch exit: $?"
else echo "skipped (SEA_TORCH=0)"; fi
exit "$PARITY_RC"
