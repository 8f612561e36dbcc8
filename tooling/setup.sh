#!/usr/bin/env bash
# Sets up a fresh machine for sea: pnpm (pinned), workspace dependencies, and — where possible —
# the Mesa lavapipe Vulkan driver that lets WebGPU run in Node without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
pnpm install --frozen-lockfile
if [ -f tooling/setup-lavapipe.sh ]; then bash tooling/setup-lavapipe.sh; fi
# Debian chromium for the explorer's headless browser test (root or CI only; without it the test skips and says why)
if { [ "$(id -u)" = 0 ] || [ -n "${CI:-}" ]; } && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) || echo "setup: chromium not installed; the explorer browser test will skip"; fi
