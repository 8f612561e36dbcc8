/**
 * WebGPU benchmark: `pnpm --filter @sea/backend-webgpu bench [--quick] [--out DIR]`.
 *
 * 1. f32 matmul GFLOP/s for n³ up to 4096³, for each kernel (register-blocked vec4 without
 *    workgroup memory; workgroup-memory tiles with vec4 loads and prefetch, and with scalar loads), beside the limits: the CPU
 *    backend's matmul measured in the same run (the peer), and on NVIDIA the fp32 numbers measured
 *    on this GPU kind (cuBLAS SGEMM 51 TFLOP/s; H100 SXM fp32 peak 67 TFLOP/s).
 * 2. Dense causal attention vs the SEA layer (sparse FlatCSR path) at the OPT-125m shape
 *    (H=12, D=64, K=256, k=64, nbf=8) for T = 1k…16k: time per forward and the backend's peak
 *    memory during it.
 * Results: bench/results/webgpu-<device>-<date>.json (and DIR when given).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { DenseAttention, SeaAttention } from '@sea/sparse-attention';
import type { TensorInfo } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { createWebGpuBackend, type MatmulTuning, TILE_CONFIGS } from '../src/index.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const outDir = argv.includes('--out') ? argv[argv.indexOf('--out') + 1] : null;

const backend = await createWebGpuBackend();
const s = backend.summary;
const device =
  [s.vendor, s.architecture, s.device, s.description].filter(Boolean).join(' ').trim() || 'unknown';
const isGpu = !s.isFallback;
console.log(
  `device: ${device} (fallback ${s.isFallback}; default matmul ${backend.matmulVariant}; features ${s.features.join(',')})`,
);

function rand(n: number, seed: number, scale = 1): Float32Array {
  const r = new sea.Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r.uniform() * 2 - 1) * scale;
  return a;
}

async function timed(run: () => void, budgetMs: number, maxReps = 20): Promise<number> {
  run();
  await backend.sync();
  const t0 = performance.now();
  run();
  await backend.sync();
  const one = performance.now() - t0;
  const reps = Math.max(1, Math.min(maxReps, Math.floor(budgetMs / Math.max(one, 1e-3))));
  const t1 = performance.now();
  for (let r = 0; r < reps; r++) run();
  await backend.sync();
  return Math.min(one, (performance.now() - t1) / reps) / 1e3;
}

// ---- matmul ----
const sizes = [256, 512, 1024, 2048, 4096].filter((n) => n <= (quick ? 1024 : isGpu ? 4096 : 2048));
const variants: [string, MatmulTuning][] = [
  ['register-vec4', { variant: 'register' }],
  ...Object.values(TILE_CONFIGS).map((t): [string, MatmulTuning] => [
    `tiled-${t.bm}x${t.bn}x${t.bk}`,
    { variant: 'tiled', tile: t },
  ]),
  // The same tiles with scalar global loads and no prefetch (the kernel for unaligned shapes).
  ...[TILE_CONFIGS.medium, TILE_CONFIGS.large16].map((t): [string, MatmulTuning] => [
    `scalar-${t.bm}x${t.bn}x${t.bk}`,
    { variant: 'tiled', tile: t, scalarTiles: true },
  ]),
];
const matmulRows: { n: number; kernel: string; seconds: number; gflops: number }[] = [];
const attnRows: { T: number; layer: string; seconds?: number; peakBytes?: number; error?: string }[] = [];
const [H, D, K, k] = [12, 64, 256, 64];
for (const n of sizes) {
  const a: TensorInfo = {
    dataId: backend.upload(rand(n * n, 1), 'float32'),
    shape: [n, n],
    dtype: 'float32',
  };
  const b: TensorInfo = {
    dataId: backend.upload(rand(n * n, 2), 'float32'),
    shape: [n, n],
    dtype: 'float32',
  };
  for (const [name, tuning] of variants) {
    // Workgroup-memory tiles crawl on CPU adapters; keep their runs small there.
    if (!isGpu && name !== 'register-vec4' && n > 512) continue;
    if (!isGpu && name !== 'register-vec4' && name !== 'tiled-64x64x16' && n > 256) continue;
    if (!isGpu && name.startsWith('scalar') && n > 256) continue;
    const sec = await timed(
      () => {
        const c = backend.matmul(a, b, {}, [n, n], tuning as never);
        backend.free(c.dataId);
      },
      isGpu ? 400 : 1500,
    );
    const gflops = (2 * n ** 3) / sec / 1e9;
    matmulRows.push({ n, kernel: name, seconds: sec, gflops });
    console.log(
      `matmul ${n}³ ${name.padEnd(14)} ${(sec * 1e3).toFixed(2).padStart(9)} ms ${gflops.toFixed(1).padStart(9)} GFLOP/s`,
    );
  }
  backend.free(a.dataId);
  backend.free(b.dataId);
}

// The peer: the CPU backend's matmul (blocked, WASM SIMD) in this same process, at 512³.
const cpu = new CpuBackend();
const pa: TensorInfo = {
  dataId: cpu.upload(rand(512 * 512, 1), 'float32'),
  shape: [512, 512],
  dtype: 'float32',
};
let cpuBest = Number.POSITIVE_INFINITY;
for (let r = 0; r < 3; r++) {
  const t0 = performance.now();
  cpu.free(cpu.matmul(pa, pa, {}, [512, 512]).dataId);
  cpuBest = Math.min(cpuBest, (performance.now() - t0) / 1e3);
}
const cpuGflops = (2 * 512 ** 3) / cpuBest / 1e9;
console.log(`peer: CPU backend matmul 512³ ${cpuGflops.toFixed(1)} GFLOP/s`);
const limits = /nvidia/i.test(device)
  ? {
      note: 'fp32 on this GPU kind, measured with cuBLAS SGEMM (DESIGN.md)',
      cublasSgemmGflops: 51000,
      fp32PeakGflops: 67000,
    }
  : { note: 'CPU adapter: the peer below (same machine, same process) is the reference' };

save();

// ---- attention: dense vs SEA at the OPT-125m shape ----
const Ts = quick ? [1024, 2048] : isGpu ? [1024, 2048, 4096, 8192, 16384] : [1024, 2048, 4096];
sea.useBackend(backend);
const layers = {
  dense: new DenseAttention({ causal: true, heads: H, headDim: D }),
  sea: SeaAttention.create(
    {
      causal: true,
      heads: H,
      headDim: D,
      predictorLength: K,
      k,
      nbFeatureFactor: 8,
      maxPositions: Math.max(...Ts),
    },
    { backend, seed: 0 },
  ),
};
const tooSlow = new Set<string>();
for (const T of Ts) {
  const q = sea.tensor(rand(H * T * D, 3, 0.125), [1, H, T, D]);
  const kk = sea.tensor(rand(H * T * D, 4), [1, H, T, D]);
  const v = sea.tensor(rand(H * T * D, 5), [1, H, T, D]);
  for (const [name, layer] of Object.entries(layers)) {
    if (tooSlow.has(name)) continue;
    const base = backend.memory().bytes;
    try {
      const reps = isGpu ? 2 : 1;
      let best = Number.POSITIVE_INFINITY;
      let peak = 0;
      for (let r = 0; r < reps; r++) {
        backend.resetPeak();
        const t0 = performance.now();
        const out = await layer.forward(q, kk, v);
        await backend.sync();
        best = Math.min(best, (performance.now() - t0) / 1e3);
        peak = Math.max(peak, backend.memory().peakBytes - base);
        out.context.dispose();
      }
      if (best > (isGpu ? 20 : 120)) tooSlow.add(name);
      attnRows.push({ T, layer: name, seconds: best, peakBytes: peak });
      save();
      console.log(
        `attention T=${String(T).padStart(5)} ${name.padEnd(5)} ${(best * 1e3).toFixed(1).padStart(9)} ms  peak ${(peak / 2 ** 20).toFixed(1)} MiB`,
      );
    } catch (e) {
      attnRows.push({ T, layer: name, error: (e as Error).message.slice(0, 300) });
      tooSlow.add(name);
      save();
      console.log(`attention T=${T} ${name}: failed: ${(e as Error).message.slice(0, 200)}`);
    }
  }
  q.dispose();
  kk.dispose();
  v.dispose();
}

function save(): void {
  const date = new Date().toISOString().slice(0, 10);
  const result = {
    date,
    device,
    adapter: s,
    chunkBytes: backend.chunkElems * 4,
    matmul: matmulRows,
    peer: { name: 'CPU backend matmul 512³ (same process)', gflops: cpuGflops },
    limits,
    attention: { shape: { H, D, K, k, B: 1, nbFeatureFactor: 8, causal: true }, rows: attnRows },
  };
  const slug = device
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'results'), outDir].filter((x): x is string => !!x)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `webgpu-${slug}-${date}.json`), `${JSON.stringify(result, null, 2)}\n`);
  }
  console.log(`wrote webgpu-${slug}-${date}.json`);
}
save();
backend.destroy();
