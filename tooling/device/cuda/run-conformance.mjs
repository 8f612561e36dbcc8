// Runs the shared conformance suite (@sea/conformance) on the CUDA backend with plain Node (the
// vitest functions come from vitest-shim.mjs, installed as node_modules/vitest in the pack).
// Prints PASS/FAIL/SKIP per test, a summary, and writes $OUT/cuda-conformance.json.
import fs from 'node:fs';
import path from 'node:path';
import { CUDA_CONFORMANCE_OPTIONS, createCudaBackend } from '@sea/backend-cuda';
import { conformanceSuite } from '@sea/conformance';
import { runCollected } from 'vitest';

let backend = null;
conformanceSuite(
  'cuda',
  async () => {
    backend = createCudaBackend();
    return backend;
  },
  CUDA_CONFORMANCE_OPTIONS,
);
const t0 = performance.now();
const results = await runCollected((r) => {
  const tag = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[r.status];
  console.log(`${tag}  ${r.name}${r.ms !== undefined ? `  (${r.ms.toFixed(1)} ms)` : ''}`);
  if (r.error) console.log(`      ${r.error.split('\n').slice(0, 6).join('\n      ')}`);
});
const count = (s) => results.filter((r) => r.status === s).length;
const summary = {
  device: backend?.device ?? null,
  modules: backend?.modules.loaded ?? [],
  passed: count('pass'),
  failed: count('fail'),
  skipped: count('skip'),
  seconds: (performance.now() - t0) / 1e3,
  failures: results.filter((r) => r.status === 'fail'),
  results,
};
console.log(
  `conformance[cuda]: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped in ${summary.seconds.toFixed(1)} s`,
);
if (process.env.OUT)
  fs.writeFileSync(path.join(process.env.OUT, 'cuda-conformance.json'), JSON.stringify(summary, null, 1));
backend?.destroy();
process.exitCode = summary.failed ? 1 : 0;
