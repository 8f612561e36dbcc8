/**
 * CPU benchmark of the dense primitives: `pnpm --filter @sea/backend-cpu bench`.
 *
 * Each row gives the best-of-N time, the achieved GFLOP/s and GB/s, and the same numbers as a share
 * of this machine's limits, which the run measures first:
 *   - scalar peak: a JS loop of 12 independent multiply-add chains on doubles (what the plain-JS
 *     kernels can reach on one core);
 *   - SIMD peak: a WebAssembly loop of 12 independent f32x4 multiply-add chains with no memory traffic
 *     (what the SIMD GEMM micro-kernel can reach on one core; all kernels here run on one thread);
 *   - memory bandwidth: copying a 64 MiB Float32Array with TypedArray.set, counting read + write.
 * float64 matmul is compared with half the SIMD peak (f64x2 has half the lanes of f32x4). Softmax and
 * GELU are listed against memory bandwidth, the physical limit, though V8's Math.exp (about 10 ns per
 * call) bounds them well before it.
 * The peer is a naive i-k-j triple loop matmul over Float32Array (the obvious plain-JS kernel).
 * Results are written to bench/results/cpu-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType, TensorInfo } from '@sea/tensor';
import { CpuBackend } from '../src/cpu_backend.js';
import { simdAvailable } from '../src/kernels/matmul.js';

const backend = new CpuBackend();

function timeIt(fn: () => void, budgetMs = 1500, maxReps = 50): number {
  fn(); // warm-up (JIT, buffers)
  let best = Number.POSITIVE_INFINITY;
  const start = performance.now();
  for (let r = 0; r < maxReps; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
    if (performance.now() - start > budgetMs && r >= 2) break;
  }
  return best / 1e3;
}

// ---- machine limits ----

const CHAINS = 12;

function scalarPeak(): number {
  const n = 10_000_000;
  // 12 independent a = a·m + c chains: enough in flight to cover the multiply and add latencies
  const run = () => {
    let a0 = 1,
      a1 = 1.1,
      a2 = 1.2,
      a3 = 1.3,
      a4 = 1.4,
      a5 = 1.5;
    let a6 = 1.6,
      a7 = 1.7,
      a8 = 1.8,
      a9 = 1.9,
      a10 = 2,
      a11 = 2.1;
    const m = 0.999999;
    const c = 1e-7;
    for (let i = 0; i < n; i++) {
      a0 = a0 * m + c;
      a1 = a1 * m + c;
      a2 = a2 * m + c;
      a3 = a3 * m + c;
      a4 = a4 * m + c;
      a5 = a5 * m + c;
      a6 = a6 * m + c;
      a7 = a7 * m + c;
      a8 = a8 * m + c;
      a9 = a9 * m + c;
      a10 = a10 * m + c;
      a11 = a11 * m + c;
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
  };
  const s = timeIt(run, 1000, 5);
  return (n * CHAINS * 2) / s;
}

function leb(n: number): number[] {
  const o: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    o.push(byte);
  } while (n);
  return o;
}

/** f(n): CHAINS f32x4 accumulators, each acc = acc·m + c per iteration, n iterations. */
function simdPeak(): number | null {
  const simd = (op: number) => [0xfd, ...leb(op)];
  const code: number[] = [];
  // locals: 0 = n (param), 1..CHAINS accumulators, then m and c (v128)
  const M = CHAINS + 1;
  const C = CHAINS + 2;
  code.push(0x43, ...new Uint8Array(new Float32Array([0.999999]).buffer), ...simd(0x13), 0x21, M);
  code.push(0x43, ...new Uint8Array(new Float32Array([1e-7]).buffer), ...simd(0x13), 0x21, C);
  code.push(0x02, 0x40, 0x03, 0x40);
  code.push(0x20, 0, 0x45, 0x0d, 1); // br_if n == 0
  for (let k = 1; k <= CHAINS; k++)
    code.push(0x20, k, 0x20, M, ...simd(0xe6), 0x20, C, ...simd(0xe4), 0x21, k);
  code.push(0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b);
  code.push(0x20, 1);
  for (let k = 2; k <= CHAINS; k++) code.push(0x20, k, ...simd(0xe4));
  code.push(...simd(0x1f), 0); // f32x4.extract_lane 0
  code.push(0x0b);
  const fn = [1, CHAINS + 2, 0x7b, ...code];
  const body = [...leb(fn.length), ...fn];
  const sec = (id: number, b: number[]) => [id, ...leb(b.length), ...b];
  const bytes = new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    1,
    0,
    0,
    0,
    ...sec(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...sec(3, [1, 0]),
    ...sec(7, [1, 1, 0x66, 0, 0]),
    ...sec(10, [1, ...body]),
  ]);
  if (!WebAssembly.validate(bytes)) return null;
  const f = (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as { f: (n: number) => number })
    .f;
  const n = 10_000_000;
  const s = timeIt(() => f(n), 1000, 5);
  return (n * CHAINS * 4 * 2) / s;
}

function memBandwidth(): number {
  const n = 16 * 1024 * 1024;
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  const s = timeIt(() => dst.set(src), 1000, 10);
  return (2 * n * 4) / s;
}

// ---- workloads ----

let seed = 1;
function randInfo(shape: number[], dtype: DType = 'float32'): TensorInfo {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    a[i] = seed / 1073741824 - 1;
  }
  return { dataId: backend.upload(a, dtype), shape, dtype };
}

function naiveMatmul(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const x = a[i * n + k];
      for (let j = 0; j < n; j++) c[i * n + j] += x * b[k * n + j];
    }
}

interface Row {
  name: string;
  shape: string;
  ms: number;
  gflops: number;
  gbs: number;
  /** which limit bounds this primitive and the share of it reached */
  bound: 'compute (SIMD)' | 'compute (SIMD f64)' | 'compute (scalar)' | 'memory';
  pctOfLimit: number;
}

function main(): void {
  const t0 = performance.now();
  const limits = {
    scalarPeakGflops: scalarPeak() / 1e9,
    simdPeakGflops: (simdPeak() ?? 0) / 1e9,
    memBandwidthGBs: memBandwidth() / 1e9,
  };
  const rows: Row[] = [];
  const add = (
    name: string,
    shape: string,
    flops: number,
    bytes: number,
    bound: Row['bound'],
    fn: () => TensorInfo | undefined,
  ) => {
    const s = timeIt(() => {
      const out = fn();
      if (out) backend.free(out.dataId);
    });
    const gflops = flops / s / 1e9;
    const gbs = bytes / s / 1e9;
    const limit =
      bound === 'memory'
        ? gbs / limits.memBandwidthGBs
        : bound === 'compute (scalar)'
          ? gflops / limits.scalarPeakGflops
          : // f64x2 holds half the lanes of f32x4
            gflops / (bound === 'compute (SIMD f64)' ? limits.simdPeakGflops / 2 : limits.simdPeakGflops);
    rows.push({ name, shape, ms: s * 1e3, gflops, gbs, bound, pctOfLimit: 100 * limit });
  };
  const mmBound: Row['bound'] = simdAvailable() ? 'compute (SIMD)' : 'compute (scalar)';

  for (const n of [256, 512, 1024]) {
    const a = randInfo([n, n]);
    const b = randInfo([n, n]);
    add('matmul f32', `${n}×${n}×${n}`, 2 * n ** 3, 3 * n * n * 4, mmBound, () =>
      backend.matmul(a, b, {}, [n, n]),
    );
  }
  {
    const n = 512;
    const a = randInfo([n, n], 'float64');
    const b = randInfo([n, n], 'float64');
    const bound = simdAvailable() ? 'compute (SIMD f64)' : 'compute (scalar)';
    add('matmul f64', `${n}×${n}×${n}`, 2 * n ** 3, 3 * n * n * 8, bound, () =>
      backend.matmul(a, b, {}, [n, n]),
    );
  }
  {
    // attention scores: q·kᵀ per head (BERT-base, T=512)
    const q = randInfo([12, 512, 64]);
    const k = randInfo([12, 512, 64]);
    add(
      'matmul f32 transB',
      '[12,512,64]·[12,512,64]ᵀ',
      2 * 12 * 512 * 512 * 64,
      12 * 512 * (128 + 512) * 4,
      mmBound,
      () => backend.matmul(q, k, { transB: true }, [12, 512, 512]),
    );
  }
  for (const n of [256, 512]) {
    const a = new Float32Array(n * n).fill(0.5);
    const b = new Float32Array(n * n).fill(0.25);
    const c = new Float32Array(n * n);
    add('naive matmul f32 (peer)', `${n}×${n}×${n}`, 2 * n ** 3, 3 * n * n * 4, 'compute (scalar)', () => {
      naiveMatmul(a, b, c, n);
      return undefined;
    });
  }
  {
    const x = randInfo([12, 512, 512]);
    const m = randInfo([1, 512, 512]);
    const n = 12 * 512 * 512;
    add('softmax + mask', '[12,512,512]', 5 * n, n * 8 + 512 * 512 * 4, 'memory', () =>
      backend.softmax(x, m),
    );
  }
  {
    const x = randInfo([2048, 768]);
    const g = randInfo([768]);
    const be = randInfo([768]);
    const n = 2048 * 768;
    add('layerNorm', '[2048,768]', 8 * n, n * 8, 'memory', () => backend.layerNorm(x, g, be, 1e-5));
  }
  {
    const x = randInfo([1, 24, 2048, 64]);
    const w = randInfo([24, 24, 3, 3]);
    const bias = randInfo([24]);
    const outShape = [1, 24, 2048, 64];
    const flops = 2 * 24 * 24 * 9 * 2048 * 64;
    add('conv2d 3×3 pad 1', '[1,24,2048,64]→24', flops, 2 * 24 * 2048 * 64 * 4, mmBound, () =>
      backend.conv2d(
        x,
        w,
        bias,
        { stride: [1, 1], dilation: [1, 1], padding: [1, 1, 1, 1], groups: 1 },
        outShape,
      ),
    );
    const wd = randInfo([24, 24, 3, 3]);
    add('conv2d 3×3 dil 2 causal', '[1,24,2048,64]→24', flops, 2 * 24 * 2048 * 64 * 4, mmBound, () =>
      backend.conv2d(
        x,
        wd,
        bias,
        { stride: [1, 1], dilation: [2, 2], padding: [4, 0, 2, 2], groups: 1 },
        outShape,
      ),
    );
  }
  {
    const n = 2048 * 3072;
    const x = randInfo([2048, 3072]);
    add('gelu (erf)', '[2048,3072]', 30 * n, n * 8, 'memory', () => backend.unary('gelu', x));
  }
  {
    const n = 2048 * 768;
    const x = randInfo([2048, 768]);
    const y = randInfo([2048, 768]);
    const bias = randInfo([768]);
    add('add', '[2048,768]+[2048,768]', n, n * 12, 'memory', () => backend.binary('add', x, y, [2048, 768]));
    add('add (bias broadcast)', '[2048,768]+[768]', n, n * 8, 'memory', () =>
      backend.binary('add', x, bias, [2048, 768]),
    );
  }

  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(
    `\nsea CPU backend benchmark — ${cpu}, ${cpus().length} cores, Node ${process.version}, one thread`,
  );
  console.log(
    `limits: scalar multiply-add peak ${limits.scalarPeakGflops.toFixed(2)} GFLOP/s (JS, ${CHAINS} chains); ` +
      `SIMD peak ${limits.simdPeakGflops.toFixed(2)} GFLOP/s (wasm f32x4, ${CHAINS} chains); ` +
      `memory ${limits.memBandwidthGBs.toFixed(2)} GB/s (64 MiB Float32Array copy, read+write)`,
  );
  console.log(
    `matmul path: ${simdAvailable() ? 'WebAssembly SIMD micro-kernel' : 'plain JS micro-kernel'}\n`,
  );
  const header = ['primitive', 'shape', 'time ms', 'GFLOP/s', 'GB/s', 'bound', '% of limit'];
  const table = rows.map((r) => [
    r.name,
    r.shape,
    r.ms.toFixed(2),
    r.gflops.toFixed(2),
    r.gbs.toFixed(2),
    r.bound,
    r.pctOfLimit.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));

  const date = new Date().toISOString().slice(0, 10);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cpu-${date}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpu, cores: cpus().length, node: process.version, threads: 1 },
        limits,
        limitMethods: {
          scalarPeakGflops: `JS loop, ${CHAINS} independent a = a·m + c chains on doubles, 2 FLOP each`,
          simdPeakGflops: `WebAssembly loop, ${CHAINS} independent f32x4 a = a·m + c chains, 8 FLOP each, no memory traffic`,
          memBandwidthGBs: 'Float32Array.set copy of 64 MiB, bytes read + written',
        },
        matmulPath: simdAvailable() ? 'wasm-simd' : 'js',
        peer: 'naive i-k-j triple-loop matmul over Float32Array',
        rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${file} (${((performance.now() - t0) / 1e3).toFixed(1)} s)`);
}

main();
