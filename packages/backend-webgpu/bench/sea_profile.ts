/**
 * The SEA layer (sparse FlatCSR path, OPT-125m attention shape: H=12, D=64, K=256, k=64, nbf=8,
 * causal) at one or more T: wall time per forward (best of --reps after a warm-up) and the GPU time
 * of every kernel (timestamp queries, where the device has them), slowest first, with each
 * kernel's share of the summed GPU time.
 *
 *   tsx --conditions=source bench/sea_profile.ts [--T 16384[,8192]] [--reps 3] [--dtype float32|float16|bfloat16]
 *       [--float16 packed|native] [--flush-every N] [--pool-bytes BYTES] [--out DIR]
 *
 * Also per forward: dispatches, queue submits, read-backs, syncs, storage buffers made (not taken
 * from the pool) and the host time to enqueue the layer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeaAttention } from '@sea/sparse-attention';
import type { DType } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { createWebGpuBackend } from '../src/index.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) =>
  argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt;
const Ts = arg('T', '16384').split(',').map(Number);
const reps = Number(arg('reps', '3'));
const dtype = arg('dtype', 'float32') as DType;
const f16mode = arg('float16', '') as '' | 'packed' | 'native';
const outDir = arg('out', '');
const flushEvery = arg('flush-every', '');
const poolBytes = arg('pool-bytes', '');

const backend = await createWebGpuBackend({
  ...(f16mode ? { float16: f16mode } : {}),
  ...(flushEvery ? { flushEvery: Number(flushEvery) } : {}),
  ...(poolBytes ? { poolBytes: Number(poolBytes) } : {}),
});
const s = backend.summary;
const device = [s.vendor, s.architecture, s.device, s.description].filter(Boolean).join(' ').trim();
console.log(
  `device: ${device} (features ${s.features.join(',')}; float16 ${backend.nativeF16 ? 'native' : 'packed'}; dtype ${dtype}; flush every ${flushEvery || 'default'} dispatches; pool ${poolBytes || 'default'})`,
);
sea.useBackend(backend);
const [H, D, K, k] = [12, 64, 256, 64];

function rand(n: number, seed: number, scale = 1): Float32Array {
  const r = new sea.Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r.uniform() * 2 - 1) * scale;
  return a;
}

const layer = SeaAttention.create(
  {
    causal: true,
    heads: H,
    headDim: D,
    predictorLength: K,
    k,
    nbFeatureFactor: 8,
    maxPositions: Math.max(...Ts),
  },
  { backend, seed: 0, dtype },
);
const rows: Record<string, unknown>[] = [];
for (const T of Ts) {
  const mk = (seed: number, scale: number) => {
    const t = sea.tensor(rand(H * T * D, seed, scale), [1, H, T, D]);
    if (dtype === 'float32') return t;
    const c = sea.cast(t, dtype);
    t.dispose();
    return c;
  };
  const q = mk(3, 0.125);
  const kk = mk(4, 1);
  const v = mk(5, 1);
  // host time to enqueue the layer (forward returns once every kernel is queued) and the whole forward
  let enqueueMs = Number.POSITIVE_INFINITY;
  const once = async () => {
    const t0 = performance.now();
    const out = await layer.forward(q, kk, v);
    enqueueMs = Math.min(enqueueMs, performance.now() - t0);
    await backend.sync();
    out.context.dispose();
  };
  try {
    await once();
  } catch (e) {
    console.log(`\nSEA layer T=${T} ${dtype}: failed: ${(e as Error).message.slice(0, 300)}`);
    rows.push({ T, dtype, error: (e as Error).message.slice(0, 300) });
    for (const t of [q, kk, v]) t.dispose();
    continue;
  }
  // host round trips of one forward (its closing sync included)
  const c0 = backend.counters();
  await once();
  const c1 = backend.counters();
  const trips = {
    submits: c1.submits - c0.submits,
    reads: c1.reads - c0.reads,
    syncs: c1.syncs - c0.syncs,
    dispatches: c1.dispatches - c0.dispatches,
    buffersMade: c1.buffers - c0.buffers,
  };
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await once();
    best = Math.min(best, performance.now() - t0);
  }
  backend.resetPeak();
  const base = backend.memory().bytes;
  const profiled = backend.startProfile();
  await once();
  const kernels = await backend.stopProfile();
  const peak = backend.memory().peakBytes - base;
  const gpuMs = kernels.reduce((a, x) => a + x.ms, 0);
  const dispatches = kernels.reduce((a, x) => a + x.dispatches, 0);
  console.log(
    `\nSEA layer T=${T} ${dtype}: ${best.toFixed(1)} ms per forward (best of ${reps}); peak ${(peak / 2 ** 20).toFixed(0)} MiB; ` +
      `${trips.dispatches} dispatches, ${trips.submits} submits, ${trips.reads} read-backs, ${trips.syncs} syncs, ${trips.buffersMade} buffers made per forward, ${enqueueMs.toFixed(1)} ms to enqueue; ` +
      (profiled
        ? `GPU ${gpuMs.toFixed(1)} ms in ${dispatches} dispatches`
        : 'no timestamp-query: no kernel table'),
  );
  if (profiled) {
    console.log(
      `${'kernel'.padEnd(28)} ${'dispatches'.padStart(10)} ${'ms'.padStart(9)} ${'share'.padStart(6)}`,
    );
    for (const x of kernels)
      console.log(
        `${x.kernel.padEnd(28)} ${String(x.dispatches).padStart(10)} ${x.ms.toFixed(2).padStart(9)} ${((100 * x.ms) / gpuMs).toFixed(1).padStart(5)}%`,
      );
  }
  rows.push({
    T,
    dtype,
    float16: backend.nativeF16 ? 'native' : 'packed',
    ms: best,
    peakBytes: peak,
    gpuMs,
    dispatches,
    roundTrips: trips,
    enqueueMs,
    kernels,
  });
  q.dispose();
  kk.dispose();
  v.dispose();
}
if (outDir) {
  mkdirSync(outDir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const file = join(outDir, `sea-profile-${dtype}-${date}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date, device, adapter: s, shape: { H, D, K, k, B: 1 }, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${file}`);
}
backend.destroy();
