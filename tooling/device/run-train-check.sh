#!/usr/bin/env bash
# Training checks on one GPU (about 5 minutes), from the repository root with .device/cuda carried
# (tooling/device/pack-cuda.sh packs train_check.mjs, nccl_one_rank.mjs and @sea/train into it):
#   a. a small OPT trained 200 steps in float32 and in bfloat16 mixed precision, same data and seed:
#      both loss curves and the largest relative gap (train_check.ts);
#   a2. SEA distilled from the float32-trained model, in float32 and in bfloat16 (60 steps): both curves
#      and the gap of their 10-step means;
#   b. the one-rank NCCL check: allReduce/broadcast on device buffers and 3 training steps through
#      the NCCL reducer, bit-identical to no reducer (nccl_one_rank.ts);
#   c. one `sea train` step at the OPT-125m shape, T=2048, bfloat16: tokens/s and peak memory,
#      batch 1, batch 4 and batch 4 with --checkpoint-layers; one step profiled (GPU time per op, per
#      kernel and per launch shape, reads back and syncs: op_profile.ts);
#   d. one `sea distill` step at the same shape for each of sea, dense, performer, reformer, cosformer
#      (float32 teacher, bfloat16 student): time, tokens/s, peak memory; SEA's step profiled.
# Writes $OUT/train-check.log, train-check.json, loss-fp32-bf16.json, nccl-one-rank.json. The training
# text is data/wikitext-2/valid.txt of the working tree.
# Env: SEA_DEVICE_BUNDLE (default .device/cuda), SEA_CHECK_* (see train_check.ts), SEA_NCCL_TIMEOUT (90),
# SEA_TOTAL_S (300). The working tree (36 MB) and the bundle (30.6 MB) travel within 64 MiB with
# 0.5 MB to spare: pack with SEA_PACK_FATBINS=0 (6 MB less, kernels compiled by NVRTC there) when the
# tree has grown.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -f "$(dirname "${BASH_SOURCE[0]}")/train_check.mjs" ]; then P="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
else P="$ROOT/${SEA_DEVICE_BUNDLE:-.device/cuda}"; fi
OUTD="${OUT:-/tmp/sea-train-check}"
mkdir -p "$OUTD"
export OUT="$OUTD"
exec > >(tee "$OUTD/train-check.log") 2>&1
# shellcheck source=common.sh
source "$P/common.sh"
device_env "$P"
echo "== machine: $(uname -srm); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi'); node $("$NODE" --version)"
START=$(date +%s)
STATUS=0

echo "== b. NCCL, one rank"
timeout "${SEA_NCCL_TIMEOUT:-90}" "$NODE" "$P/nccl_one_rank.mjs" | tee "$OUTD/nccl-one-rank.json"
rc=${PIPESTATUS[0]}; [ "$rc" = 0 ] || STATUS=1
echo "nccl exit: $rc after $(( $(date +%s) - START )) s"

echo "== a + c. bf16 vs fp32 (200 steps), the OPT-125m step"
LEFT=$(( ${SEA_TOTAL_S:-300} - ($(date +%s) - START) ))
[ "$LEFT" -lt 60 ] && LEFT=60
export SEA_CHECK_TEXT="${SEA_CHECK_TEXT:-$ROOT/data/wikitext-2/valid.txt}" SEA_CHECK_BUDGET_S="${SEA_CHECK_BUDGET_S:-$(( LEFT - 20 ))}"
timeout "$LEFT" "$NODE" "$P/train_check.mjs"
rc=$?; [ "$rc" = 0 ] || STATUS=1
echo "train check exit: $rc after $(( $(date +%s) - START )) s"
exit "$STATUS"
