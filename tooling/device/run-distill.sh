#!/usr/bin/env bash
# Runs the distillation experiment on the GPU machine from the repository root, with .device/exp
# carried (tooling/device/pack-distill.sh). Phases (SEA_PHASES, default "teacher eval sea performer"):
#   teacher    train the dense OPT teacher with PyTorch (tooling/reference/train_teacher.py), unless
#              .device/exp/teacher/ already holds one (carried back from an earlier run)
#   eval       WikiText-2 test perplexity of the teacher with `sea eval --backend cuda`
#   sea        `sea distill --attention sea --backend cuda`, then `sea eval` of the distilled model
#   performer  the same with Performer attention
# Knobs: SEA_STEPS (200), SEA_BATCH (4), SEA_LR (1e-4), SEA_T (512), SEA_K (128), SEA_KK (32),
# SEA_TEACHER_STEPS (1500), SEA_EVAL_WINDOWS (all). Writes $OUT/run.log, results.tar (JSON, loss
# logs and plots, configs, SEA weights) and the float16 teacher.safetensors / sea-model.safetensors.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
P="$ROOT/.device/exp"
FINAL="${OUT:-/tmp/sea-exp-out}"
OUTD=/tmp/sea-exp-results
rm -rf "$OUTD"; mkdir -p "$OUTD" "$FINAL"
exec > >(tee -a "$FINAL/run.log") 2>&1
# $OUT takes few files: the two float16 model files as they are, everything else in one tar.
finish() {
  [ -f "$OUTD/teacher/model.safetensors" ] && mv "$OUTD/teacher/model.safetensors" "$FINAL/teacher.safetensors"
  [ -f "$OUTD/sea-model/model.safetensors" ] && mv "$OUTD/sea-model/model.safetensors" "$FINAL/sea-model.safetensors"
  tar -C "$OUTD" -cf "$FINAL/results.tar" .
}
trap finish EXIT
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
NODE_DIR=/tmp/sea-node
if [ ! -x "$NODE_DIR/node/bin/node" ]; then
  mkdir -p "$NODE_DIR"
  python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$(ls "$P"/node-*-linux-x64.tar.xz | head -1)" "$NODE_DIR"
fi
NODE="$NODE_DIR/node/bin/node"
EXTRA="$(python3 -c 'import glob,os,site
print(":".join(x for sp in site.getsitepackages() for x in sorted(glob.glob(os.path.join(sp,"nvidia","*","lib")))))' 2>/dev/null)"
[ -n "$EXTRA" ] && export LD_LIBRARY_PATH="$EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SEA_DATA="$P/data" SEA_CUDA_CACHE=/tmp/sea-cuda-cache
SEA="$NODE $P/app/sea.mjs"
T=${SEA_T:-512}; K=${SEA_K:-128}; KK=${SEA_KK:-32}; STEPS=${SEA_STEPS:-200}; BATCH=${SEA_BATCH:-4}; LR=${SEA_LR:-1e-4}
EW=${SEA_EVAL_WINDOWS:+--max-windows $SEA_EVAL_WINDOWS}
TEACHER="$P/teacher"
START=$(date +%s)
stamp() { echo "-- $1 after $(( $(date +%s) - START )) s"; }

for phase in ${SEA_PHASES:-teacher eval sea performer}; do
  case "$phase" in
  teacher)
    if [ ! -f "$TEACHER/model.safetensors" ]; then
      TEACHER="$OUTD/teacher"
      PYTHONUNBUFFERED=1 python3 "$ROOT/tooling/reference/train_teacher.py" --train "$P/train.json" \
        --test "$P/test.json" --out "$TEACHER" --positions "$T" --steps "${SEA_TEACHER_STEPS:-1500}"
    fi
    stamp teacher ;;
  eval)
    $SEA eval --model "$TEACHER" --backend cuda --attention dense $EW --json >"$OUTD/eval-teacher.json"
    tail -c 600 "$OUTD/eval-teacher.json"; stamp "teacher eval" ;;
  sea|performer)
    RUN="/tmp/distill-$phase"
    $SEA distill --teacher "$TEACHER" --data "$P/train.json" --attention "$phase" --backend cuda \
      --steps "$STEPS" --seq-len "$T" --batch "$BATCH" --k "$KK" --predictor-length "$K" --lr "$LR" \
      --eval-every "${SEA_EVAL_EVERY:-50}" --out "$RUN" --export-dtype float16 || echo "distill $phase failed: $?"
    cp "$RUN/loss.jsonl" "$OUTD/loss-$phase.jsonl" 2>/dev/null; cp "$RUN/loss.svg" "$OUTD/loss-$phase.svg" 2>/dev/null
    stamp "distill $phase"
    $SEA eval --model "$RUN/model" --backend cuda $EW --json >"$OUTD/eval-$phase.json"
    tail -c 600 "$OUTD/eval-$phase.json"; stamp "eval $phase"
    if [ "$phase" = sea ]; then mkdir -p "$OUTD/sea-model"; cp "$RUN/model/"* "$OUTD/sea-model/"; fi ;;
  esac
done
stamp done
