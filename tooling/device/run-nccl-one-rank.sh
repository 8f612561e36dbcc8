#!/usr/bin/env bash
# The one-rank NCCL check on the GPU machine (repository root, .device/train carried; see
# pack-train.sh). Writes $OUT/nccl-one-rank.json and exits with the check's status.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
P="$ROOT/.device/train"
OUTD="${OUT:-/tmp/sea-train-out}"
mkdir -p "$OUTD"
export NCCL_NVLS_ENABLE=0
NODE_DIR=/tmp/sea-node
if [ ! -x "$NODE_DIR/node/bin/node" ]; then
  mkdir -p "$NODE_DIR"
  python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$(ls "$P"/node-*-linux-x64.tar.xz | head -1)" "$NODE_DIR"
fi
EXTRA="$(python3 -c 'import glob,os,site
print(":".join(x for sp in site.getsitepackages() for x in sorted(glob.glob(os.path.join(sp,"nvidia","*","lib")))))' 2>/dev/null)"
[ -n "$EXTRA" ] && export LD_LIBRARY_PATH="$EXTRA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SEA_CUDA_CACHE=/tmp/sea-cuda-cache
cd "$P/app"
"$NODE_DIR/node/bin/node" nccl_one_rank.mjs | tee "$OUTD/nccl-one-rank.json"
exit "${PIPESTATUS[0]}"
