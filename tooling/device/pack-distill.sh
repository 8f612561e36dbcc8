#!/usr/bin/env bash
# Packs the distillation experiment for the GPU machine into .device/exp/ (git-ignored; name it in
# the device run's carry list): the `sea` command bundled with esbuild (TypeScript sources, one file),
# the CUDA kernel sources beside it, koffi with its linux-x64 binary, this machine's Node as a .tar.xz,
# OPT token ids of the training text and of the WikiText-2 test split (`sea tokenize`), and the part
# of the repository's data folder that `sea eval` reads (OPT vocabulary, WikiText-2 raw test). run-distill.sh uses it.
#   bash tooling/device/pack-distill.sh [SOURCE_TREE]   (default: this checkout; another tree, e.g. a
#   `git worktree` of a tested commit, must have had `pnpm install` run in it)
set -euo pipefail
ROOT="$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)"
SRC="${1:-$ROOT}"
DEST="$ROOT/.device/exp"
DATA="${SEA_DATA:-$ROOT/data}"
mkdir -p "$DEST"
cd "$ROOT"
# shellcheck source=common.sh
source "$ROOT/tooling/device/common.sh"

if [ ! -f "$DEST/train.json" ]; then
  pnpm --silent sea tokenize "$DATA/wikitext-2/valid.txt" "$DATA/glue/MRPC/train.tsv" \
    "$DATA/glue/MRPC/test.tsv" "$DATA/glue/MRPC/dev.tsv" "$DATA/glue/SST-2/dev.tsv" --out "$DEST/train.json"
fi
[ -f "$DEST/test.json" ] || pnpm --silent sea tokenize "$DATA/wikitext-2-raw/wiki.test.hf_joined.txt" --out "$DEST/test.json"

ESBUILD="$(readlink -f "$ROOT/packages/backend-webgpu/node_modules/.bin/esbuild")"
rm -rf "$DEST/app"
mkdir -p "$DEST/app/node_modules"
(cd "$SRC/apps/cli" && "$ESBUILD" src/main.ts --bundle --platform=node --format=esm --target=node20 \
  --conditions=source --external:koffi --external:webgpu --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --outfile="$DEST/app/sea.mjs")
echo '{"name":"sea-device-app","private":true,"type":"module"}' >"$DEST/app/package.json"
cp -r "$SRC/packages/backend-cuda/src/kernels" "$DEST/app/kernels"
copy_koffi "$DEST/app/node_modules"

rm -rf "$DEST/data"
mkdir -p "$DEST/data/tokenizers" "$DEST/data/wikitext-2-raw"
cp "$DATA/SOURCE.md" "$DEST/data/"
cp -r "$DATA/tokenizers/opt" "$DATA/tokenizers/gpt2" "$DEST/data/tokenizers/"
cp "$DATA/wikitext-2-raw/wiki.test.hf_joined.txt" "$DATA/wikitext-2-raw/SOURCE.md" "$DEST/data/wikitext-2-raw/"

pack_node "$DEST"
echo "packed $DEST: $(du -sh "$DEST" | cut -f1) (node $(node --version))"
