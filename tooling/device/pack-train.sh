#!/usr/bin/env bash
# Packs the training tools for the GPU machine into .device/train/ (git-ignored; name it in the
# device run's carry list): `sea` and the one-rank NCCL check bundled with esbuild (TypeScript
# sources), the CUDA kernel sources, koffi with its linux-x64 binary and this machine's Node.
#   bash tooling/device/pack-train.sh
set -euo pipefail
ROOT="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
DEST="$ROOT/.device/train"
cd "$ROOT"
# shellcheck source=common.sh
source "$ROOT/tooling/device/common.sh"
ESBUILD="$(readlink -f "$ROOT/packages/backend-webgpu/node_modules/.bin/esbuild")"
rm -rf "$DEST/app"
mkdir -p "$DEST/app/node_modules"
BANNER="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
for entry in "apps/cli/src/main.ts:sea.mjs" "tooling/device/nccl_one_rank.ts:nccl_one_rank.mjs"; do
  "$ESBUILD" "${entry%%:*}" --bundle --platform=node --format=esm --target=node20 \
    --conditions=source --external:koffi --external:webgpu --log-level=warning \
    --banner:js="$BANNER" --outfile="$DEST/app/${entry##*:}"
done
echo '{"name":"sea-device-train","private":true,"type":"module"}' >"$DEST/app/package.json"
cp -r "$ROOT/packages/backend-cuda/src/kernels" "$DEST/app/kernels"
copy_koffi "$DEST/app/node_modules"
pack_node "$DEST"
echo "packed $DEST: $(du -sh "$DEST" | cut -f1) (node $(node --version))"
