#!/usr/bin/env bash
# Packs what a CUDA run on the GPU machine needs into .device/cuda/ (git-ignored; name it in the
# device run's carry list): this machine's Node as a .tar.xz, the built packages (dist/ + package.json)
# in a flat node_modules, koffi with its linux-x64 binary, the prebuilt sm_90 kernels, a vitest
# stand-in for the shared conformance suite, the runners and the benchmark, and the training checks.
# run-cuda.sh uses it; the bundle carries its own copies as run.sh, run-half.sh (the half-precision
# benchmark), run-perf.sh (the SEA layer speed run, with warm.mjs and smoke.mjs) and run-train.sh
# (run-train-check.sh: bf16 vs fp32 training, NCCL one rank, the OPT-125m step), plus bench_torch.py,
# so a bundle packed from one checkout runs from another:
#   SEA_PACK_DEST=/path/to/checkout/.device/half bash tooling/device/pack-cuda.sh
#   (GPU machine, .device/half carried)  bash .device/half/run-half.sh
set -euo pipefail
ROOT="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
# SEA_PACK_DEST: where to pack (default .device/cuda; an absolute path packs into another checkout)
DEST="${SEA_PACK_DEST:-$ROOT/.device/cuda}"
PKGS=(tensor linear-attention mask predictor sparse-attention baselines model-common opt bert train backend-cpu backend-cuda conformance)
cd "$ROOT"
# shellcheck source=common.sh
source "$ROOT/tooling/device/common.sh"

if [ "${SEA_PACK_SKIP_BUILD:-0}" != 1 ]; then
  for p in "${PKGS[@]}"; do
    echo "build @sea/$p"
    (cd "packages/$p" && pnpm run -s build)
  done
fi
if command -v nvcc >/dev/null; then bash packages/backend-cuda/scripts/build-fatbin.sh; else echo "nvcc absent: kernels will be compiled by NVRTC on the GPU machine"; fi

rm -rf "$DEST"
mkdir -p "$DEST/node_modules/@sea" "$DEST/node_modules/vitest"
for p in "${PKGS[@]}"; do
  d="$DEST/node_modules/@sea/$p"
  mkdir -p "$d"
  cp "packages/$p/package.json" "$d/"
  cp -r "packages/$p/dist" "$d/"
  find "$d/dist" \( -name '*.map' -o -name '*.d.ts' -o -name '*.test.js' \) -delete
done
copy_koffi "$DEST/node_modules"
# SEA_PACK_FATBINS=0 leaves the prebuilt kernels out (6 MB; NVRTC compiles them on the GPU machine
# instead), for when the bundle and the working tree would pass the 64 MiB a device run takes
if [ "${SEA_PACK_FATBINS:-1}" = 0 ]; then rm -f "$DEST/node_modules/@sea/backend-cuda/dist/kernels/"*.fatbin*; fi
cp tooling/device/cuda/vitest-shim.mjs "$DEST/node_modules/vitest/index.js"
echo '{"name":"vitest","version":"0.0.0-shim","type":"module","main":"index.js","exports":{".":"./index.js"}}' \
  >"$DEST/node_modules/vitest/package.json"
cp tooling/device/cuda/run-conformance.mjs packages/backend-cuda/bench/bench_cuda.mjs "$DEST/"
# the decoding benchmark and parity check (run-generate.sh refreshes them from its checkout)
cp packages/opt/bench/bench_generate.mjs packages/opt/bench/decode_parity.mjs "$DEST/"
# the runner and the torch peers travel too, so a bundle packed here runs from any checkout
cp tooling/device/run-cuda.sh "$DEST/run.sh"
cp tooling/device/run-cuda-half.sh "$DEST/run-half.sh"
cp tooling/device/run-cuda-perf.sh "$DEST/run-perf.sh"
cp tooling/device/cuda/warm.mjs tooling/device/cuda/smoke.mjs "$DEST/"
# the training checks (run-train-check.sh): TypeScript bundled alone, @sea/* from node_modules above
ESBUILD="$(readlink -f "$ROOT/packages/backend-webgpu/node_modules/.bin/esbuild")"
for entry in train_check nccl_one_rank; do
  "$ESBUILD" "tooling/device/$entry.ts" --bundle --platform=node --format=esm --target=node20 \
    --external:@sea/* --external:koffi --log-level=warning --outfile="$DEST/$entry.mjs"
done
cp tooling/device/run-train-check.sh "$DEST/run-train.sh"
cp tooling/device/common.sh "$DEST/"
cp tooling/reference/bench_torch.py "$DEST/"
echo '{"name":"sea-cuda-device-run","private":true,"type":"module"}' >"$DEST/package.json"

pack_node "$DEST"
echo "packed $DEST: $(du -sh "$DEST" | cut -f1) (node $(node --version))"
