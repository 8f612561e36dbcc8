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

// ---------------------------------------------------------------- backend-specific checks
// compile errors and out-of-memory come back as DeviceError; the NVRTC disk cache is used by a
// second backend; memory returns to zero.
import { compileKernelSource, DeviceError } from '@sea/backend-cuda';

const extra = [];
const checkExtra = async (name, fn) => {
  try {
    const detail = await fn();
    extra.push({ name, status: 'pass', detail });
    console.log(`PASS  cuda › ${name}${detail ? `  ${detail}` : ''}`);
  } catch (e) {
    extra.push({ name, status: 'fail', error: String(e?.stack ?? e) });
    console.log(
      `FAIL  cuda › ${name}\n      ${String(e?.stack ?? e)
        .split('\n')
        .slice(0, 4)
        .join('\n      ')}`,
    );
  }
};
await checkExtra('an NVRTC compile error is a DeviceError with the log', () => {
  try {
    compileKernelSource(
      'extern "C" __global__ void broken(float *x) { x[0] = undeclared_name; }',
      'broken.cu',
      'sm_90',
    );
  } catch (e) {
    if (e instanceof DeviceError && /undeclared_name/.test(e.message))
      return e.message.split('\n').slice(0, 2).join(' | ');
    throw e;
  }
  throw new Error('compiled a broken source');
});
await checkExtra('out of memory is a DeviceError and leaves no live buffer', () => {
  const b2 = createCudaBackend();
  try {
    const before = b2.memory();
    try {
      b2.alloc(2 ** 50);
    } catch (e) {
      if (!(e instanceof DeviceError)) throw e;
      const after = b2.memory();
      if (after.bytes !== before.bytes || after.buffers !== before.buffers)
        throw new Error('live memory changed');
      return e.message;
    }
    throw new Error('a 1 PiB allocation succeeded');
  } finally {
    b2.destroy();
  }
});
await checkExtra('a second backend loads kernels from the NVRTC disk cache (or a fatbin)', async () => {
  const b3 = createCudaBackend();
  try {
    const x = b3.upload(new Float32Array([1, -2, 3]), 'float32');
    const y = b3.unary('abs', { dataId: x, shape: [3], dtype: 'float32' });
    const v = await b3.read(y.dataId, 'float32', 3);
    b3.free(x);
    b3.free(y.dataId);
    if (v.join() !== '1,2,3') throw new Error(`abs gave ${v.join()}`);
    const origin = b3.modules.loaded.map((m) => `${m.family}:${m.origin} ${m.ms.toFixed(1)} ms`).join(', ');
    if (b3.modules.loaded.some((m) => m.origin === 'nvrtc')) throw new Error(`recompiled: ${origin}`);
    if (b3.memory().bytes !== 0) throw new Error('memory not back to 0');
    return origin;
  } finally {
    b3.destroy();
  }
});
if (process.env.OUT) {
  const file = path.join(process.env.OUT, 'cuda-conformance.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  j.extra = extra;
  fs.writeFileSync(file, JSON.stringify(j, null, 1));
}
if (extra.some((e) => e.status === 'fail')) process.exitCode = 1;
