#!/usr/bin/env bash
# Runs this checkout's bench_host.mjs three times over the sources of <commit> (extracted to
# /tmp/sea-host-<label>, sharing this checkout's node_modules) and prints, per case, the fastest
# step as a table row: | label | case | µs/step | queued ops/step | driver calls/step | µs/op |.
# Usage (repository root, stubs built): bash packages/backend-cuda/bench/host/compare.sh <commit> <label>
set -eu
C=$1
L=$2
ROOT="$(git rev-parse --show-toplevel)"
D=/tmp/sea-host-$L
rm -rf "$D"
mkdir -p "$D"
git -C "$ROOT" archive "$C" | tar -x -C "$D"
ln -s "$ROOT/node_modules" "$D/node_modules"
for p in "$ROOT"/packages/*/; do
  n=$(basename "$p")
  [ -d "$p/node_modules" ] && [ -d "$D/packages/$n" ] && cp -a "$p/node_modules" "$D/packages/$n/"
done
mkdir -p "$D/packages/backend-cuda/bench/host"
cp "$ROOT/packages/backend-cuda/bench/host/bench_host.mjs" "$D/packages/backend-cuda/bench/host/"
for i in 1 2 3; do
  (cd "$D" && SEA_HOST_JSON="$D/run-$i.json" nice node --import tsx --conditions=source \
    packages/backend-cuda/bench/host/bench_host.mjs >"$D/run-$i.log" 2>&1) || tail -5 "$D/run-$i.log"
done
node -e '
const [D, L] = process.argv.slice(1);
const best = {};
for (const i of [1, 2, 3])
  for (const r of JSON.parse(require("fs").readFileSync(`${D}/run-${i}.json`, "utf8")).rows) {
    const k = `${r.case} ${r.dtype}`;
    if (!best[k] || r.minUsPerStep < best[k].minUsPerStep) best[k] = r;
  }
for (const [k, r] of Object.entries(best))
  console.log(`| ${L} | ${k} | ${r.minUsPerStep.toFixed(0)} | ${r.opsPerStep.toFixed(0)} | ${r.driverCallsPerStep.toFixed(0)} | ${(r.minUsPerStep / r.opsPerStep).toFixed(2)} |`);
' "$D" "$L"
