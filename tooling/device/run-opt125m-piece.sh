#!/usr/bin/env bash
# One resumable piece (≤ 24 min of training, then a checkpoint) of the OPT-125m-shape experiment on the
# GPU machine (repository root; .device/train carried: pack-train.sh after prepare-opt125m-data.sh).
# Run folders live in .device/train/runs/ and travel back and forth with the carry, so the same
# command continues where the last piece stopped. PHASE picks the run:
#   teacher                      sea train --config opt-125m (dense, from scratch, T=2048)
#   dense|sea|performer|reformer|cosformer
#                                sea distill --attention <phase> from runs/teacher/model (official
#                                loss weights, the same steps and data order for every method)
#   eval                         sea eval (WikiText-2 test) of every finished model, and dynamic k for SEA
# Knobs: TEACHER_STEPS (20000), TEACHER_BATCH (4), DISTILL_STEPS (2000), ACC (8), MAX_MIN (24), CKPT (1:
# --checkpoint-layers; 0 keeps activations, faster where memory allows: run-train-check.sh measures
# both), DTYPE (the compute dtype of every run: bfloat16 over float32 masters; run-train-check.sh
# compares it with float32 first). Projected device time per run from the check's measured rates:
#   node tooling/device/opt125m-plan.mjs train-check.json
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
P="$ROOT/.device/train"
OUTD="${OUT:-/tmp/sea-train-out}"
mkdir -p "$OUTD" "$P/runs"
export NCCL_NVLS_ENABLE=0 SEA_CUDA_CACHE=/tmp/sea-cuda-cache
NODE_DIR=/tmp/sea-node
if [ ! -x "$NODE_DIR/node/bin/node" ]; then
  mkdir -p "$NODE_DIR"
  python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$(ls "$P"/node-*-linux-x64.tar.xz | head -1)" "$NODE_DIR"
fi
EXTRA="$(python3 -c 'import glob,os,site
print(":".join(x for sp in site.getsitepackages() for x in sorted(glob.glob(os.path.join(sp,"nvidia","*","lib")))))' 2>/dev/null)"
[ -n "$EXTRA" ] && export LD_LIBRARY_PATH="$EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
SEA="$NODE_DIR/node/bin/node $P/app/sea.mjs"
D="$P/data"; R="$P/runs"
ACC=${ACC:-8}; MAX_MIN=${MAX_MIN:-24}
CKPT_FLAG=""; [ "${CKPT:-1}" = 1 ] && CKPT_FLAG="--checkpoint-layers"
case "${PHASE:?set PHASE}" in
teacher)
  $SEA train --config opt-125m --data "$D/train.json" --eval-data "$D/test.json" --steps "${TEACHER_STEPS:-20000}" \
    --seq-len 2048 --batch "${TEACHER_BATCH:-4}" --accumulate "$ACC" --lr 6e-4 --warmup 500 --schedule cosine $CKPT_FLAG \
    --compute-dtype "${DTYPE:-bfloat16}" \
    --save-every 100 --eval-every 1000 --eval-windows 16 --out "$R/teacher" --max-minutes "$MAX_MIN" --resume \
    --backend cuda 2>&1 | tee -a "$R/teacher.log" ;;
dense|sea|performer|reformer|cosformer)
  [ -f "$R/teacher/model/model.safetensors" ] || { echo "the teacher is not finished"; exit 2; }
  $SEA distill --teacher "$R/teacher/model" --data "$D/train.json" --attention "$PHASE" --steps "${DISTILL_STEPS:-2000}" \
    --seq-len 2048 --batch 1 --accumulate "$ACC" --k 64 --predictor-length 256 --nbf 8 --lr 1e-5 $CKPT_FLAG \
    --compute-dtype "${DTYPE:-bfloat16}" \
    --save-every 50 --eval-every 500 --out "$R/$PHASE" --max-minutes "$MAX_MIN" --resume --backend cuda \
    2>&1 | tee -a "$R/$PHASE.log" ;;
eval)
  for m in dense sea performer reformer cosformer; do
    [ -f "$R/$m/model/model.safetensors" ] || continue
    $SEA eval --model "$R/$m/model" --attention "$([ "$m" = dense ] && echo dense || echo "$m")" --backend cuda --json \
      >"$R/eval-$m.json"
  done
  $SEA eval --model "$R/teacher/model" --attention dense --backend cuda --json >"$R/eval-teacher.json"
  [ -f "$R/sea/model/model.safetensors" ] && $SEA eval --model "$R/sea/model" --attention sea --k 16,32,64,128 \
    --backend cuda --json >"$R/eval-sea-dynamic-k.json"
  ;;
esac
cp "$R"/*.log "$R"/eval-*.json "$OUTD/" 2>/dev/null || true
