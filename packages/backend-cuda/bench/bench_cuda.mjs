// Benchmarks of the CUDA backend on the GPU machine (plain Node over the built packages; see
// tooling/device/run-cuda.sh). Each number stands beside its peer (tooling/reference/bench_torch.py,
// same shapes, same device) and the physical limit from rates measured here first:
//   - device rates: device-to-device copy bandwidth, cuBLAS fp32 SGEMM and 8192³ bf16 GEMM rates;
//   - the SEA layer (SeaAttention, OPT-125m shape H=12, D=64, K=256, k=64, nbf 8) at T = 1k … 32k:
//     latency and peak memory, plus a per-stage breakdown of the sparse routines;
//   - a full OPT-125m-shaped forward (random weights, T=2048): tokens/s, dense and SEA attention.
//   - the per-stage table (SEA_BENCH_PROFILE_T): each primitive's GPU time, achieved bandwidth
//     (bytes of its inputs and outputs) and FLOP/s beside the copy and GEMM ceilings measured first;
//   - float32 and bfloat16 (SEA_BENCH_DTYPES) for the SEA layer and the OPT forward; the entries per
//     query row of the stretched mask.
// Env: SEA_BENCH_T (T values), SEA_BENCH_SECTIONS (rates, selfcheck, stages, conv, sea, attention,
// linear, opt), SEA_BENCH_DTYPES, SEA_BENCH_PROFILE_T, SEA_BENCH_SWEEP=<dtype>@<T> (the layer with each
// fused CSR attention instance), SEA_BENCH_JSON (file name), SEA_CUDA_CUDNN=1 (16-bit convs through
// cuDNN instead of the backend's own kernels), SEA_BENCH_OPT_DTYPES / SEA_BENCH_OPT_ATTENTION (the OPT
// forward's dtypes, default SEA_BENCH_DTYPES, and attention kinds, default dense,sea). Each profile also
// lists the backend's own kernels by name with their GPU time (events around each launch).
// Writes $OUT/cuda-bench.json and prints a table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CONV_OBLOCKS_ALL,
  CSR_ATTENTION_KERNELS,
  conv2dWithKernel,
  convOblockFits,
  createCudaBackend,
} from '@sea/backend-cuda';
import * as sea from '@sea/tensor';
import { PRIMITIVES } from '@sea/tensor/backend';
import { writeSafetensors } from '@sea/tensor/node';

const OUT = process.env.OUT;
const TS = (process.env.SEA_BENCH_T ?? '1024,2048,4096,8192,16384,32768').split(',').map(Number);
/** Sections to run (default all): rates, selfcheck, stages, conv, sea, attention, linear, opt. */
const SECTIONS = new Set(
  (process.env.SEA_BENCH_SECTIONS ?? 'rates,selfcheck,stages,conv,sea,attention,linear,opt').split(','),
);
/** dtypes of the SEA layer and the OPT forward (default float32 and bfloat16). */
const DTYPES = (process.env.SEA_BENCH_DTYPES ?? 'float32,bfloat16').split(',');
/** T values at which the SEA layer's per-stage profile is taken. */
const PROFILE_TS = (process.env.SEA_BENCH_PROFILE_T ?? '8192,32768').split(',').map(Number);
const R = {
  date: new Date().toISOString(),
  node: process.version,
  host: os.hostname(),
  rates: {},
  sea: [],
  stages: [],
  opt: [],
  errors: [],
};
const log = (...a) => console.log(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const JSON_NAME = process.env.SEA_BENCH_JSON ?? 'cuda-bench.json';
const save = () => OUT && fs.writeFileSync(path.join(OUT, JSON_NAME), JSON.stringify(R, null, 1));

const b = createCudaBackend();
sea.useBackend(b);
R.device = b.device;
log(`device: ${b.device.name} (sm ${b.device.computeCapability}, ${b.device.multiprocessors} SMs)`);
const rng = new sea.Rng(7);
const randn = (shape, scale = 1) => {
  const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
  rng.fillNormal(a, 0, scale);
  return sea.tensor(a, shape);
};
const randu = (shape, lo = 0, hi = 1) => {
  const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
  rng.fillUniform(a, lo, hi);
  return sea.tensor(a, shape);
};
async function wall(fn, reps, warm = 1) {
  for (let i = 0; i < warm; i++) await fn();
  await b.sync();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    await b.sync();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}
async function section(name, body) {
  const tag = [
    ['SeaAttention', 'sea'],
    ['OPT', 'opt'],
    ['conv2d', 'conv'],
    ['stages', 'stages'],
    ['selfcheck', 'selfcheck'],
    ['rates', 'rates'],
    ['attention', 'attention'],
    ['linear', 'linear'],
  ].find(([p]) => name.startsWith(p))?.[1];
  if (tag && !SECTIONS.has(tag)) return;
  try {
    await body();
  } catch (e) {
    R.errors.push({ section: name, error: String(e?.stack ?? e) });
    log(`!! ${name}: ${e?.stack ?? e}`);
  }
  save();
}

// ---------------------------------------------------------------- device rates
await section('rates', async () => {
  const n = 256 << 20; // 1 GiB of float32... as bytes: 256 Mi elements
  const src = b.alloc(n * 4);
  const dst = b.alloc(n * 4);
  b.copyDtoD(dst.ptr, src.ptr, n * 4);
  const ms = median(Array.from({ length: 5 }, () => b.timeMs(() => b.copyDtoD(dst.ptr, src.ptr, n * 4))));
  b.free(src);
  b.free(dst);
  R.rates.copyGBps = (2 * n * 4) / (ms / 1e3) / 1e9;
  const S = 4096;
  const A = randn([S, S]);
  const B = randn([S, S]);
  sea.matmul(A, B).dispose();
  await b.sync();
  const mm = median(Array.from({ length: 5 }, () => b.timeMs(() => sea.matmul(A, B).dispose())));
  R.rates.sgemmTflops = (2 * S ** 3) / (mm / 1e3) / 1e12;
  A.dispose();
  B.dispose();
  // the tensor-core ceiling: an 8192³ bf16 GEMM (cuBLAS, float32 accumulation)
  const S2 = 8192;
  const A2 = sea.cast(randn([S2, S2]), 'bfloat16');
  const B2 = sea.cast(randn([S2, S2]), 'bfloat16');
  sea.matmul(A2, B2).dispose();
  await b.sync();
  const mm2 = median(Array.from({ length: 5 }, () => b.timeMs(() => sea.matmul(A2, B2).dispose())));
  R.rates.bf16GemmTflops = (2 * S2 ** 3) / (mm2 / 1e3) / 1e12;
  A2.dispose();
  B2.dispose();
  log(`rates: cuBLAS bf16 GEMM 8192³ ${R.rates.bf16GemmTflops.toFixed(0)} TFLOP/s`);
  log(
    `rates: copy ${R.rates.copyGBps.toFixed(0)} GB/s (read+write), cuBLAS SGEMM ${R.rates.sgemmTflops.toFixed(1)} TFLOP/s`,
  );
});
const BW = () => (R.rates.copyGBps ?? 3000) * 1e9;
const FL = () => (R.rates.sgemmTflops ?? 50) * 1e12;
const FL16 = () => (R.rates.bf16GemmTflops ?? 700) * 1e12;

// ---------------------------------------------------------------- self-check of the chunked kernels
// The chunked performerPrefixSum / cumsum and the channel-blocked conv2d against the CPU backend on
// fresh random inputs at sizes past the conformance suite's (several chunks, ragged tails).
R.selfcheck = [];
await section('selfcheck', async () => {
  let Cpu = null;
  try {
    ({ CpuBackend: Cpu } = await import('@sea/backend-cpu'));
  } catch (e) {
    R.errors.push({ section: 'import @sea/backend-cpu', error: String(e) });
    return;
  }
  const cpu = new Cpu();
  const both = async (name, shapes, make, op) => {
    const ins = shapes.map((sh, i) => make(sh, i));
    const tc = ins.map(([a, sh, dt]) => sea.tensor(a, sh, { backend: b, dtype: dt }));
    const th = ins.map(([a, sh, dt]) => sea.tensor(a, sh, { backend: cpu, dtype: dt }));
    const got = await op(...tc).data();
    const want = await op(...th).data();
    let num = 0;
    let den = 0;
    let bad = 0;
    for (let i = 0; i < want.length; i++) {
      const d = got[i] - want[i];
      if (!Number.isFinite(got[i]) && Number.isFinite(want[i])) bad++;
      num += d * d;
      den += want[i] * want[i];
    }
    const rel = Math.sqrt(num / Math.max(den, 1e-300));
    R.selfcheck.push({ name, rel, nonFinite: bad, n: want.length });
    log(`selfcheck ${name}: rel ${rel.toExponential(2)}${bad ? ` NONFINITE ${bad}` : ''}`);
    for (const t of [...tc, ...th]) t.dispose();
  };
  const feat = (sh) => {
    const a = new Float32Array(sh.reduce((x, y) => x * y, 1));
    rng.fillUniform(a, -0.5, 1);
    for (let i = 0; i < a.length; i++) a[i] = Math.fround(Math.max(a[i], 0) + 0.001);
    return [a, sh, 'float32'];
  };
  const nrm = (sh) => {
    const a = new Float32Array(sh.reduce((x, y) => x * y, 1));
    rng.fillNormal(a, 0, 1);
    return [a, sh, 'float32'];
  };
  for (const [B, H, T, M, E] of [
    [1, 3, 1000, 33, 128],
    [2, 2, 4097, 70, 40],
    [1, 1, 65, 5, 3],
  ]) {
    await both(
      `performerPrefixSum [${B},${H},${T},${M}] E=${E}`,
      [
        [B, H, T, M],
        [B, H, T, M],
        [B, H, T, E],
      ],
      (sh, i) => (i < 2 ? feat(sh) : nrm(sh)),
      (q, k, v) => sea.performerPrefixSum(q, k, v, 1e-6),
    );
  }
  for (const [sh, axis, ex, rev] of [
    [[2, 5000, 64], 1, false, false],
    [[3, 20000], 1, true, true],
    [[300, 7], 0, false, true],
  ]) {
    await both(
      `cumsum [${sh}] axis ${axis}${ex ? ' exclusive' : ''}${rev ? ' reverse' : ''}`,
      [sh],
      nrm,
      (x) => sea.cumsum(x, axis, { exclusive: ex, reverse: rev }),
    );
  }
  for (const [xs, ws, args] of [
    [[1, 24, 300, 64], [24, 24, 3, 3], { dilation: 2, padding: [4, 0, 2, 2] }],
    [[2, 5, 17, 13], [11, 5, 3, 2], { stride: [2, 1], padding: 1 }],
    [[1, 24, 100, 256], [12, 24, 1, 1], { padding: [0, 0, 1, 1] }],
  ]) {
    await both(`conv2d x[${xs}] w[${ws}]`, [xs, ws, [ws[0]]], nrm, (x, w, bias) =>
      sea.conv2d(x, w, bias, args),
    );
  }
  for (const [xs, oh, ow, mode] of [
    [[1, 24, 300, 64], 300, 256, 'nearest'],
    [[2, 3, 7, 5], 21, 10, 'nearest'],
    [[1, 12, 300, 258], 300, 256, 'area'],
  ]) {
    await both(`resize ${mode} x[${xs}] → ${oh}×${ow}`, [xs], nrm, (x) => sea.resize(x, [oh, ow], mode));
  }
  // fused attention (kernels/attention.cu) against the CPU's float64-accumulated one: many tiles,
  // ragged tails, padded keys, a head size under 64
  const keys = (sh) => {
    const a = new Uint8Array(sh[0] * sh[1]);
    for (let i = 0; i < a.length; i++) a[i] = (i * 2654435761) % 7 === 3 ? 0 : 1;
    return [a, sh, 'bool'];
  };
  for (const [B, H, T, Dh, causal, padded] of [
    [1, 2, 2048, 64, true, false],
    [2, 2, 1000, 64, true, true],
    [1, 3, 777, 64, false, true],
    [1, 2, 300, 48, true, false],
  ]) {
    const shapes = [
      [B, H, T, Dh],
      [B, H, T, Dh],
      [B, H, T, Dh],
    ];
    if (padded) shapes.push([B, T]);
    await both(
      `attention [${B},${H},${T},${Dh}]${causal ? ' causal' : ''}${padded ? ' keyValid' : ''}`,
      shapes,
      (sh, i) => (i < 3 ? nrm(sh) : keys(sh)),
      (q, k, v, kv) => sea.attention(q, k, v, { scale: 1 / Math.sqrt(Dh), causal, keyValid: kv ?? null }),
    );
  }
  // the same attention read in place from [B,T,H,D]; the fused linear layer (cuBLASLt epilogues)
  await both(
    'attention bthd [1,1000,3,64] causal keyValid',
    [
      [1, 1000, 3, 64],
      [1, 1000, 3, 64],
      [1, 1000, 3, 64],
      [1, 1000],
    ],
    (sh, i) => (i < 3 ? nrm(sh) : keys(sh)),
    (q, k, v, kv) => sea.attention(q, k, v, { scale: 0.125, causal: true, keyValid: kv, layout: 'bthd' }),
  );
  await both(
    'linear x[2048,768] w[3072,768] +bias relu',
    [[2048, 768], [3072, 768], [3072]],
    nrm,
    (x, w, bi) => sea.linear(x, w, bi, { activation: 'relu' }),
  );
  await both(
    'linear x[1,333,3072] w[768,3072] +bias +residual',
    [[1, 333, 3072], [768, 3072], [768], [1, 333, 768]],
    nrm,
    (x, w, bi, r) => sea.linear(x, w, bi, { residual: r }),
  );
  await both(
    'linear x[77,50] w[33,50] relu',
    [
      [77, 50],
      [33, 50],
    ],
    nrm,
    (x, w) => sea.linear(x, w, null, { activation: 'relu' }),
  );
  cpu.destroy();
});

// ---------------------------------------------------------------- per-op GPU profile
// Wraps every backend primitive with a pair of device events; after the body, sums the GPU time per
// primitive and input shape. Wall minus the GPU sum is launch overhead and host work.
// the primitives, the optional fused capabilities and uploads
const OPS = [...PRIMITIVES, 'csrAttention', 'cellMaskAttention', 'attention', 'linear', 'upload'];
const evPool = [];
const newEvent = () => {
  const o = [null];
  b.drv.check(b.drv.api.cuEventCreate(o, 0), 'cuEventCreate');
  return o[0];
};
async function profileOps(label, body) {
  const marks = [];
  let used = 0;
  const ev = () => {
    if (used === evPool.length) evPool.push(newEvent());
    return evPool[used++];
  };
  const orig = {};
  const own = {};
  for (const name of OPS) {
    own[name] = Object.hasOwn(b, name) ? b[name] : null;
    orig[name] = b[name].bind(b);
    b[name] = (...args) => {
      const e0 = ev();
      b.drv.api.cuEventRecord(e0, b.stream);
      const r = orig[name](...args);
      const first = args.find((a) => a && typeof a === 'object' && 'shape' in a);
      const key = `${name} ${first ? `[${first.shape}]` : ''}${first?.dtype && first.dtype !== 'float32' ? ` ${first.dtype}` : ''}`;
      const done = (res) => {
        const e1 = ev();
        b.drv.api.cuEventRecord(e1, b.stream);
        marks.push([key, e0, e1, opBytes(args, res), opFlops(name, args, res)]);
      };
      if (r && typeof r.then === 'function')
        return r.then((x) => {
          done(x);
          return x;
        });
      done(r);
      return r;
    };
  }
  // each kernel launch too, keyed by the kernel's name (b.fn names the function the next launch runs)
  const kmarks = [];
  const fnNames = new Map();
  const ownFn = Object.hasOwn(b, 'fn') ? b.fn : null;
  const ownLaunch = Object.hasOwn(b, 'launch') ? b.launch : null;
  const origFn = b.fn.bind(b);
  const origLaunch = b.launch.bind(b);
  b.fn = (family, name) => {
    const f = origFn(family, name);
    fnNames.set(f, name);
    return f;
  };
  b.launch = (f, grid, block, smem) => {
    const e0 = ev();
    b.drv.api.cuEventRecord(e0, b.stream);
    origLaunch(f, grid, block, smem);
    const e1 = ev();
    b.drv.api.cuEventRecord(e1, b.stream);
    kmarks.push([fnNames.get(f) ?? '?', e0, e1]);
  };
  let wallMs = 0;
  try {
    await b.sync();
    const t0 = performance.now();
    await body();
    await b.sync();
    wallMs = performance.now() - t0;
  } finally {
    for (const name of OPS) {
      if (own[name]) b[name] = own[name];
      else delete b[name];
    }
    if (ownFn) b.fn = ownFn;
    else delete b.fn;
    if (ownLaunch) b.launch = ownLaunch;
    else delete b.launch;
  }
  const perKernel = new Map();
  for (const [key, e0, e1] of kmarks) {
    const f = [0];
    b.drv.check(b.drv.api.cuEventElapsedTime(f, e0, e1), 'cuEventElapsedTime');
    const x = perKernel.get(key) ?? { ms: 0, calls: 0 };
    x.ms += f[0];
    x.calls++;
    perKernel.set(key, x);
  }
  const kernels = [...perKernel.entries()]
    .sort((a, c) => c[1].ms - a[1].ms)
    .map(([kernel, x]) => ({ kernel, ...x }));
  const per = new Map();
  const f = [0];
  let gpu = 0;
  for (const [key, e0, e1, bytes, flops] of marks) {
    b.drv.check(b.drv.api.cuEventElapsedTime(f, e0, e1), 'cuEventElapsedTime');
    const x = per.get(key) ?? { ms: 0, calls: 0, bytes: 0, flops: 0 };
    x.ms += f[0];
    x.calls++;
    x.bytes += bytes;
    x.flops += flops;
    per.set(key, x);
    gpu += f[0];
  }
  const rows = [...per.entries()]
    .sort((a, c) => c[1].ms - a[1].ms)
    .map(([op, x]) => ({
      op,
      ...x,
      // achieved rates: bytes of the op's inputs and outputs (each read or written once), FLOPs of the
      // GEMM-like ops; beside the copy bandwidth and the GEMM rate of its dtype measured above
      GBps: x.bytes / (x.ms / 1e3) / 1e9,
      TFLOPs: x.flops / (x.ms / 1e3) / 1e12,
      ofCopyBW: x.bytes / (x.ms / 1e3) / BW(),
      ofGemm: x.flops
        ? x.flops / (x.ms / 1e3) / (op.includes('bfloat16') || op.includes('float16') ? FL16() : FL())
        : 0,
    }));
  R.profiles.push({ label, wallMs, gpuOpsMs: gpu, ops: marks.length, rows, kernels });
  log(`profile ${label}: wall ${wallMs.toFixed(2)} ms, GPU in ops ${gpu.toFixed(2)} ms, ${marks.length} ops`);
  for (const r of rows.slice(0, 18))
    log(
      `   ${r.ms.toFixed(3).padStart(9)} ms ${String(r.calls).padStart(4)}×  ${r.op.padEnd(44)} ${r.GBps.toFixed(0).padStart(5)} GB/s (${(100 * r.ofCopyBW).toFixed(0)}% of copy)${r.flops ? ` ${r.TFLOPs.toFixed(1)} TFLOP/s (${(100 * r.ofGemm).toFixed(0)}% of GEMM)` : ''}`,
    );
  log(`  kernels (own, launch to launch; cuBLAS/cuDNN/memsets not listed): ${kmarks.length} launches`);
  for (const r of kernels.slice(0, 24))
    log(`   ${r.ms.toFixed(3).padStart(9)} ms ${String(r.calls).padStart(4)}×  ${r.kernel}`);
}
R.profiles = [];
const infoBytes = (t) =>
  t && typeof t === 'object' && 'shape' in t && 'dtype' in t
    ? t.shape.reduce((x, y) => x * y, 1) * sea.bytesPerElement(t.dtype)
    : 0;
function opBytes(args, res) {
  let n = 0;
  for (const a of args.flat()) {
    if (a && typeof a === 'object' && 'crow' in a) n += infoBytes(a.crow) + infoBytes(a.col);
    else n += infoBytes(a);
  }
  if (res && typeof res === 'object' && 'crow' in res) return n + infoBytes(res.crow) + infoBytes(res.col);
  return n + infoBytes(res);
}
function opFlops(name, args, res) {
  if (!res || typeof res !== 'object' || !('shape' in res)) return 0;
  const out = res.shape.reduce((x, y) => x * y, 1);
  if (name === 'matmul') {
    const a = args[0];
    const kk = args[2]?.transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    return 2 * out * kk;
  }
  if (name === 'linear') return 2 * out * args[0].shape[1];
  if (name === 'conv2d') {
    const w = args[1];
    return 2 * out * w.shape[1] * w.shape[2] * w.shape[3];
  }
  if (name === 'csrAttention') return 4 * (args[0].nnz?.[0] ?? 0) * args[1].shape[3];
  return 0;
}

// ---------------------------------------------------------------- SEA routines at the SEA shapes
const H = 12;
const D = 64;
const K = 256;
const k = 64;
const m = 33; // ⌊64·ln 64 / 8⌋
function causalBudgets(T) {
  const out = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    const x = (H * k * K) / (t + 1);
    let r = Math.round(x);
    if (r - x === 0.5 && r % 2 !== 0) r -= 1; // half to even
    out[t] = Math.min(Math.max(r, 1), H * K);
  }
  return out;
}
for (const T of TS) {
  await section(`stages T=${T}`, async () => {
    const q = randn([1, H, T, D], 0.125);
    const kk = randn([1, H, T, D]);
    const v = randn([1, H, T, D]);
    const qf = randu([1, H, T, m]);
    const kf = randu([1, H, T, m]);
    const v2 = randn([1, H, T, 2 * D]);
    const scores = randu([T, H * K]);
    const budgets = sea.tensor(causalBudgets(T), [T], { dtype: 'int32' });
    const rowLen = sea.tensor(
      Int32Array.from({ length: T }, (_, t) => t + 1),
      [1, T],
      { dtype: 'int32' },
    );
    const rowScale = randu([1, H, T], 0.5, 1);
    const st = {};
    const gpu = (name, fn) => {
      const xs = [];
      let out = null;
      for (let i = 0; i < 4; i++) {
        if (out) b.free(out.dataId);
        let o = null;
        const ms = b.timeMs(() => {
          o = fn();
        });
        out = o;
        if (i > 0) xs.push(ms);
      }
      st[name] = median(xs);
      return out;
    };
    gpu('performerPrefixSum', () => b.performerPrefixSum(qf, kf, v2, { eps: 1e-6 }));
    const mask = gpu('groupedTopK', () => b.groupedTopK(scores, budgets));
    const maskInfo = { dataId: mask.dataId, shape: [1, T, H, K], dtype: 'bool' };
    let csr = null;
    const sts = [];
    for (let i = 0; i < 4; i++) {
      if (csr) {
        b.free(csr.crow.dataId);
        b.free(csr.col.dataId);
      }
      await b.sync();
      const t0 = performance.now();
      csr = await b.stretchToCsr(maskInfo, rowLen, { k, keys: T });
      await b.sync();
      if (i > 0) sts.push(performance.now() - t0);
    }
    st.stretchToCsr_wall = median(sts);
    const nnz = csr.nnz[0];
    const val = gpu('csrSddmm', () => b.csrSddmm(csr, q, kk, 1));
    const p = gpu('csrSoftmax', () => b.csrSoftmax(csr, val, rowScale));
    const out = gpu('csrSpmm', () => b.csrSpmm(csr, p, v));
    // the fused capability (each kernel instance) against the composition at this shape
    const n = T * H * D;
    const want = await b.read(out.dataId, 'float32', n);
    const defaultKernel = b.csrAttentionKernel;
    for (const kern of CSR_ATTENTION_KERNELS) {
      b.csrAttentionKernel = kern.name;
      const key = kern.name === defaultKernel ? 'csrAttention' : `csrAttention:${kern.name}`;
      const fused = gpu(key, () => b.csrAttention(csr, q, kk, v, rowScale, { scale: 1 }));
      const got = await b.read(fused.dataId, 'float32', n);
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        num += (got[i] - want[i]) ** 2;
        den += want[i] ** 2;
      }
      st[`${key}_relToComposed`] = Math.sqrt(num / Math.max(den, 1e-300));
      b.free(fused.dataId);
    }
    b.csrAttentionKernel = defaultKernel;
    for (const x of [mask, val, p, out, csr.crow, csr.col]) b.free(x.dataId);
    for (const x of [q, kk, v, qf, kf, v2, scores, budgets, rowLen, rowScale]) x.dispose();
    // limits: SDDMM + SpMM read q/k/v rows once and col/val once each (4·nnz·D FLOPs)
    const sddmmBytes = 4 * (2 * T * H * D) + 8 * nnz + 4 * (T + 1);
    const spmmBytes = 4 * (2 * T * H * D) + 8 * nnz + 4 * (T + 1);
    const row = {
      T,
      nnz,
      ms: st,
      limits_ms: {
        csrSddmm: Math.max(sddmmBytes / BW(), (2 * nnz * D) / FL()) * 1e3,
        csrSpmm: Math.max(spmmBytes / BW(), (2 * nnz * D) / FL()) * 1e3,
        csrSoftmax: (((4 * 2 + 4 + 4) * nnz) / BW()) * 1e3,
        groupedTopK: ((T * H * K * 5) / BW()) * 1e3,
        performerPrefixSum: ((4 * (2 * T * H * m + 2 * T * H * 2 * D)) / BW()) * 1e3,
      },
    };
    R.stages.push(row);
    log(
      `stages T=${T} nnz=${nnz}: ${Object.entries(st)
        .map(([n, x]) => `${n} ${x < 1e-3 ? x.toExponential(2) : x.toFixed(3)}`)
        .join(', ')} ms`,
    );
  });
}

// ---------------------------------------------------------------- conv2d instances
// Each conv2d_oblock* instance at the causal predictor CNN's two conv shapes; every instance sums in
// the same order, so their outputs must be equal bit for bit.
R.convVariants = [];
await section('conv2d instances', async () => {
  for (const T of TS.filter((t) => t >= 8192)) {
    const cases = [
      [
        [1, 24, T, 64],
        [24, 24, 3, 3],
        { stride: [1, 1], dilation: [2, 2], padding: [4, 0, 2, 2], groups: 1 },
        64,
      ],
      [
        [1, 24, T, 256],
        [12, 24, 1, 1],
        { stride: [1, 1], dilation: [1, 1], padding: [0, 0, 1, 1], groups: 1 },
        258,
      ],
    ];
    for (const [xs, ws, opts, OW] of cases) {
      const x = randn(xs);
      const w = randn(ws, 0.1);
      const bias = randn([ws[0]]);
      const outShape = [1, ws[0], T, OW];
      let ref = null;
      for (const k of CONV_OBLOCKS_ALL) {
        if (!convOblockFits(k, ws[0], ws[2], ws[3])) continue;
        const run = () => conv2dWithKernel(b, x, w, bias, opts, outShape, k);
        const first = run();
        const got = await b.read(first.dataId, 'float32', ws[0] * T * OW);
        b.free(first.dataId);
        let diff = 0;
        if (ref) for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - ref[i]));
        else ref = got;
        const ms = median(
          Array.from({ length: 5 }, () => {
            let o = null;
            const t = b.timeMs(() => {
              o = run();
            });
            b.free(o.dataId);
            return t;
          }),
        );
        const row = { T, x: xs, w: ws, kernel: k.name, ms, maxDiffToFirst: diff };
        R.convVariants.push(row);
        log(`conv2d x[${xs}] w[${ws}] ${k.name}: ${ms.toFixed(3)} ms (max diff to first ${diff})`);
      }
      for (const t of [x, w, bias]) t.dispose();
    }
  }
});

// ---------------------------------------------------------------- SeaAttention layer
let SeaAttention = null;
try {
  ({ SeaAttention } = await import('@sea/sparse-attention'));
} catch (e) {
  R.errors.push({ section: 'import @sea/sparse-attention', error: String(e) });
}
if (SeaAttention) {
  for (const dtype of DTYPES)
    for (const T of TS) {
      await section(`SeaAttention ${dtype} T=${T}`, async () => {
        const layer = SeaAttention.create(
          { causal: true, heads: H, headDim: D, predictorLength: K, k, nbFeatureFactor: 8, maxPositions: T },
          { seed: 1, backend: b, dtype },
        );
        const inDtype = (t) => {
          if (dtype === 'float32') return t;
          const c = sea.cast(t, dtype);
          t.dispose();
          return c;
        };
        const q = inDtype(randn([1, H, T, D], 0.125));
        const kk = inDtype(randn([1, H, T, D]));
        const v = inDtype(randn([1, H, T, D]));
        // the number of stretched entries per query row (above 16k a selected cell wider than k keeps k keys)
        const ownStretch = b.stretchToCsr;
        let nnz = null;
        b.stretchToCsr = async (...a) => {
          const r = await ownStretch(...a);
          nnz = r.nnz[0];
          return r;
        };
        await b.sync();
        const base = b.memory().bytes;
        b.resetPeak();
        const run = async () => {
          const o = await layer.forward(q, kk, v);
          o.context.dispose();
        };
        let ms;
        const ownMask = b.maskAttention;
        try {
          // one call through the stretch (not the fused cell-mask attention) to count the entries
          b.maskAttention = false;
          await run();
          b.maskAttention = ownMask;
          b.stretchToCsr = ownStretch;
          ms = await wall(run, T >= 16384 ? 5 : 9, 2);
        } finally {
          b.maskAttention = ownMask;
          b.stretchToCsr = ownStretch;
        }
        const peak = b.memory().peakBytes;
        // 16-bit: the layer with the cell-mask attention's other kernel (the tensor-core one over 16
        // rows' union of cells, mask_attention_mma_*, or one warp per row and head), so both are timed
        // in the same run
        let msOtherMask = null;
        const ownMma = b.maskAttentionMma;
        if (dtype !== 'float32') {
          b.maskAttentionMma = !ownMma;
          try {
            msOtherMask = await wall(run, T >= 16384 ? 5 : 9, 1);
          } finally {
            b.maskAttentionMma = ownMma;
          }
        }
        const msMaskMma = ownMma ? ms : msOtherMask;
        const msWarpPerRow = ownMma ? msOtherMask : ms;
        if (process.env.SEA_BENCH_SWEEP && process.env.SEA_BENCH_SWEEP === `${dtype}@${T}`) {
          // the layer with each fused CSR attention instance
          const defaultKernel = b.csrAttentionKernel;
          R.seaKernels = [];
          for (const kern of CSR_ATTENTION_KERNELS) {
            b.csrAttentionKernel = kern.name;
            const kms = await wall(run, 5);
            R.seaKernels.push({ dtype, T, kernel: kern.name, ms: kms });
            log(`SeaAttention ${dtype} T=${T} with ${kern.name}: ${kms.toFixed(2)} ms`);
          }
          b.csrAttentionKernel = defaultKernel;
        }
        if (PROFILE_TS.includes(T)) await profileOps(`SeaAttention ${dtype} T=${T}`, run);
        q.dispose();
        kk.dispose();
        v.dispose();
        layer.dispose();
        const es = sea.bytesPerElement(dtype);
        const row = {
          dtype,
          T,
          ms,
          msWarpPerRow,
          msMaskMma,
          nnz,
          nnzPerRow: nnz / T,
          nnzPerRowPerHead: nnz / T / H,
          peakBytesAboveInputs: peak - base,
          limit_ms:
            Math.max((4 * es * T * H * D + T * H * K * es + 6 * nnz) / BW(), (4 * nnz * D) / FL16()) * 1e3,
        };
        R.sea.push(row);
        log(
          `SeaAttention ${dtype} T=${T}: ${ms.toFixed(2)} ms${msOtherMask === null ? '' : ` (cell-mask attention one warp per row ${msWarpPerRow.toFixed(2)} ms, on the tensor cores ${msMaskMma.toFixed(2)} ms)`}, peak +${(row.peakBytesAboveInputs / 2 ** 20).toFixed(0)} MiB, ${row.nnzPerRowPerHead.toFixed(1)} entries per row and head`,
        );
      });
    }
}

// ---------------------------------------------------------------- fused vs composed attention
// B=1, H=12, D=64, causal (the OPT shape): the fused kernel against matmul · masked softmax · matmul
// on this backend; peer: torch SDPA fp32 in torch-bench.json; floor: causal FLOPs at the SGEMM rate.
R.attention = [];
await section('attention', async () => {
  if (process.env.SEA_BENCH_ATTENTION === '0') return;
  for (const T of [1024, 2048, 4096, 8192]) {
    const q = randn([1, 12, T, 64]);
    const kk = randn([1, 12, T, 64]);
    const v = randn([1, 12, T, 64]);
    const opts = { scale: 0.125, causal: true };
    const fused = () => sea.attention(q, kk, v, opts).dispose();
    const composed = () =>
      sea.tidy(() => {
        sea.matmul(sea.attentionProbs(q, kk, 0.125, true), v);
      });
    fused();
    composed();
    await b.sync();
    const fusedMs = median(Array.from({ length: 7 }, () => b.timeMs(fused)));
    const composedMs = median(Array.from({ length: 5 }, () => b.timeMs(composed)));
    const flops = 2 * 2 * 12 * 64 * ((T * (T + 1)) / 2);
    const row = {
      T,
      fusedMs,
      composedMs,
      tflops: flops / (fusedMs / 1e3) / 1e12,
      floorMs: (flops / FL()) * 1e3,
    };
    R.attention.push(row);
    log(
      `attention causal [1,12,${T},64]: fused ${fusedMs.toFixed(3)} ms (${row.tflops.toFixed(1)} TFLOP/s), composed ${composedMs.toFixed(3)} ms, floor ${row.floorMs.toFixed(3)} ms`,
    );
    for (const t of [q, kk, v]) t.dispose();
  }
});

// ---------------------------------------------------------------- fused vs composed linear
// The OPT-125m layer's projections at T=2048: one cuBLASLt GEMM with the bias / ReLU / residual in
// its epilogue against cuBLAS SGEMM followed by separate bias, ReLU and residual passes.
R.linear = [];
await section('linear', async () => {
  for (const [name, M, N, K, relu, res] of [
    ['q/k/v/out proj', 2048, 768, 768, false, false],
    ['out proj + residual', 2048, 768, 768, false, true],
    ['fc1 + relu', 2048, 3072, 768, true, false],
    ['fc2 + residual', 2048, 768, 3072, false, true],
  ]) {
    const x = randn([M, K]);
    const w = randn([N, K]);
    const bias = randn([N]);
    const r = res ? randn([M, N]) : null;
    const opts = { activation: relu ? 'relu' : null, residual: r };
    const run = () => sea.linear(x, w, bias, opts).dispose();
    const own = b.linear;
    const composed = () => {
      b.linear = undefined;
      try {
        run();
      } finally {
        b.linear = own;
      }
    };
    run();
    composed();
    await b.sync();
    const fusedMs = median(Array.from({ length: 9 }, () => b.timeMs(run)));
    const composedMs = median(Array.from({ length: 9 }, () => b.timeMs(composed)));
    const flops = 2 * M * N * K;
    const row = { name, M, N, K, fusedMs, composedMs, floorMs: (flops / FL()) * 1e3 };
    R.linear.push(row);
    log(
      `linear ${name} [${M},${K}]·[${N},${K}]ᵀ: fused ${fusedMs.toFixed(3)} ms, composed ${composedMs.toFixed(3)} ms, floor ${row.floorMs.toFixed(3)} ms`,
    );
    for (const t of [x, w, bias, r]) t?.dispose();
  }
});

// ---------------------------------------------------------------- OPT-125m-shaped forward
let opt = null;
try {
  opt = await import('@sea/opt');
} catch (e) {
  R.errors.push({ section: 'import @sea/opt', error: String(e) });
}
if (opt && process.env.SEA_BENCH_OPT !== '0') {
  await section('OPT-125m forward', async () => {
    const T = 2048;
    // OPT-125m's shape (random weights)
    const raw = opt.randomOptConfigJson({
      hidden: 768,
      layers: 12,
      heads: 12,
      ffn: 3072,
      maxPositions: 2048,
    });
    const config = opt.parseOptConfig(raw);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-opt125m-'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw));
    const tensors = opt.randomWeights(opt.optWeightSpecs(config, 'model.'), 7);
    const params = Object.values(tensors).reduce((n, t) => n + t.data.length, 0);
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    const ids = Int32Array.from({ length: T }, (_, i) => 2 + ((i * 7919) % 50000));
    const layers = 12;
    const flops =
      2 * (params - 50272 * 768 - 2050 * 768) * T + 2 * T * 768 * 50272 + layers * 2 * T * T * 768; // causal QK+PV halves
    for (const dtype of process.env.SEA_BENCH_OPT_DTYPES?.split(',') ?? DTYPES)
      for (const attention of (process.env.SEA_BENCH_OPT_ATTENTION ?? 'dense,sea').split(',')) {
        await section(`OPT forward ${attention} ${dtype}`, async () => {
          const model = await opt.OptForCausalLM.load(dir, {
            backend: b,
            attention,
            dtype,
            seaConfig: { maxPositions: 2048 },
          });
          await b.sync();
          const base = b.memory().bytes;
          b.resetPeak();
          const ms = await wall(async () => (await model.forward(ids)).logits.dispose(), 3);
          const peakBytes = b.memory().peakBytes;
          await profileOps(`OPT forward ${attention} ${dtype}`, async () =>
            (await model.forward(ids)).logits.dispose(),
          );
          const row = {
            attention,
            dtype,
            T,
            ms,
            tokensPerS: T / (ms / 1e3),
            peakBytesAboveWeights: peakBytes - base,
            parameters: params,
            limit_ms: (flops / (dtype === 'float32' ? FL() : FL16())) * 1e3,
          };
          model.dispose?.();
          R.opt.push(row);
          log(
            `OPT-125m ${attention} ${dtype} T=${T}: ${ms.toFixed(1)} ms = ${row.tokensPerS.toFixed(0)} tokens/s`,
          );
        });
      }
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

R.modules = b.modules.loaded;
// which convolution path the 16-bit runs took: cuDNN (tensor cores) or the backend's own kernels
const dnn = b.cudnn();
R.cudnn = { file: dnn?.file ?? null, unavailable: b.cudnnUnavailable, lastError: dnn?.lastError ?? null };
log(`cuDNN: ${JSON.stringify(R.cudnn)}`);
R.memoryAtEnd = b.memory();
save();
log(JSON.stringify({ rates: R.rates, sea: R.sea, opt: R.opt, errors: R.errors.length }, null, 1));
b.destroy();
