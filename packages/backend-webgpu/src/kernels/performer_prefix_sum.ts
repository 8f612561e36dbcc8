/**
 * Causal linear attention by prefix sums (docs/algorithm.md §3): out_t = φq_t·S_t / (φq_t·(z_t + eps)),
 * S_t = Σ_{j≤t} φk_j v_jᵀ, z_t = Σ_{j≤t} φk_j.
 *
 * Chunked, so the walk along T runs in parallel: T is cut into chunks of C rows. (1) Each chunk's
 * own sums S_c, z_c (one workgroup per (b·h, 4 value columns, chunk)) into float32 scratch;
 * (2) an exclusive scan over the chunks turns them into the sums before each chunk; (3) one
 * workgroup per (b·h, 4 value columns, chunk) starts from those and walks its C rows. In (1) and
 * (3) each of the 64 threads owns features m = lid + 64r and keeps their running S[m, e..e+3] and
 * z[m] in registers; every block of TB rows the per-thread partial dot products go through
 * workgroup memory and TB threads finish the sums ('features', any M).
 *
 * With few features (M ≤ 64; the estimator's M = ⌊D·ln D / nbf⌋ is 33 at D = 64, nbf = 8) the
 * 'columns' kernels run instead: a workgroup per (b·h, 64 value columns, chunk), a thread per
 * column e keeping S[0..M), e and z[0..M) in registers, so the dot products over m need no
 * workgroup reduction; the block's φk (and φq) rows are read once into workgroup memory, 16 rows at
 * a time, and 16-bit outputs leave through workgroup memory as whole words. All sums are float32,
 * whatever the storage dtype.
 */
import type { TensorInfo } from '@sea/tensor';
import type { PrefixSumOptions } from '@sea/tensor/backend';
import { f, main, type Param, u } from '../codegen.js';
import type { GpuData, WebGpuBackend } from '../webgpu_backend.js';

const WG = 64;
const TB = 8;
/** 'columns' kernels: at most this many features (registers per thread: 2M + CB). */
const COLUMNS_MAX_M = 64;
/** 'columns' kernels: rows per block staged in workgroup memory. */
const CB = 16;

/** 'features': threads own features (any M); 'columns': threads own value columns (M ≤ 64). */
export type PrefixSumVariant = 'features' | 'columns';

/** Chunk length: about √T rows, so the chunk walk and the scan over chunks are both short. */
export function prefixChunk(T: number): number {
  return Math.min(256, Math.max(16, 2 ** Math.round(Math.log2(Math.sqrt(Math.max(T, 1))))));
}

/** Chunk length of the 'columns' kernels: shorter chunks, more workgroups (one per 64 columns and chunk). */
export function columnsChunk(T: number): number {
  return Math.min(128, Math.max(16, 2 ** Math.round(Math.log2(Math.sqrt(Math.max(T, 1)) / 2))));
}

export function performerPrefixSum(
  b: WebGpuBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
  chunk?: number,
  variant?: PrefixSumVariant,
): TensorInfo {
  const M = qf.shape[3];
  const use = variant ?? (M <= COLUMNS_MAX_M ? 'columns' : 'features');
  if (use === 'columns' && M <= COLUMNS_MAX_M)
    return prefixSumColumns(b, qf, kf, v, opts, chunk ?? columnsChunk(qf.shape[2]));
  return prefixSumFeatures(b, qf, kf, v, opts, chunk ?? prefixChunk(qf.shape[2]));
}

function prefixSumFeatures(
  b: WebGpuBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
  chunk: number,
): TensorInfo {
  const [B, H, T, M] = qf.shape;
  const E = v.shape[3];
  const BH = B * H;
  const out = b.alloc(BH * T * E, qf.dtype);
  const tiles = Math.ceil(E / 4);
  const R = Math.max(1, Math.ceil(M / WG));
  const nC = Math.max(1, Math.ceil(T / chunk));
  if (BH * T * E === 0) return b.out(out, [B, H, T, E], qf.dtype);
  // params: 0 BH, 1 T, 2 M, 3 E, 4 eps, 5 tiles, 6 chunk, 7 nC
  const params = [u(BH), u(T), u(M), u(E), f(opts.eps), u(tiles), u(chunk), u(nC)];
  const head = `let T = pu(1u); let M = pu(2u); let E = pu(3u); let eps = pf(4u); let tiles = pu(5u);
  let C = pu(6u); let nC = pu(7u);
  let c = wg % nC; let rest = wg / nC;
  if (rest >= pu(0u) * tiles) { return; }
  let bh = rest / tiles; let e0 = (rest - bh * tiles) * 4u;
  let t0 = c * C; let t1 = min(t0 + C, T);
  var S: array<vec4<f32>, ${R}>;
  var z: array<f32, ${R}>;`;
  const loadV = `let vb = (bh * T + t) * E + e0;
        var v4 = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { v4[q] = v_ld(vb + q); } }
        let fb = (bh * T + t) * M;`;
  let scratch: ReturnType<WebGpuBackend['alloc']> | null = null;
  if (nC > 1) {
    // Scratch: S sums [BH, nC, M, E] then z sums [BH, nC, M], float32.
    scratch = b.alloc(BH * nC * M * (E + 1), 'float32');
    const zAt = BH * nC * M * E;
    b.run({
      name: 'performerPrefixSum_chunks',
      body: `${main(WG)}
  ${head}
  if (c + 1u >= nC) { return; }
  for (var r = 0u; r < ${R}u; r++) { S[r] = vec4<f32>(0.0); z[r] = 0.0; }
  for (var t = t0; t < t1; t++) {
    ${loadV}
    for (var r = 0u; r < ${R}u; r++) {
      let m = lid + r * ${WG}u;
      if (m < M) {
        let kv = kf_ld(fb + m);
        S[r] = fma(vec4<f32>(kv), v4, S[r]);
        z[r] += kv;
      }
    }
  }
  for (var r = 0u; r < ${R}u; r++) {
    let m = lid + r * ${WG}u;
    if (m < M) {
      let sb = ((bh * nC + c) * M + m) * E + e0;
      for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { sc_st(sb + q, S[r][q]); } }
      if (e0 == 0u) { sc_st(${zAt}u + (bh * nC + c) * M + m, z[r]); }
    }
  }
}`,
      inputs: [
        { name: 'kf', data: b.data(kf) },
        { name: 'v', data: b.data(v) },
      ],
      outputs: [{ name: 'sc', data: scratch }],
      params,
      grid: b.grid(BH * tiles * nC),
    });
    chunkScan(b, scratch, params, BH * M * (E + 1));
  }
  const zAt = BH * nC * M * E;
  const init = scratch
    ? `for (var r = 0u; r < ${R}u; r++) {
    let m = lid + r * ${WG}u;
    S[r] = vec4<f32>(0.0); z[r] = 0.0;
    if (m < M) {
      let sb = ((bh * nC + c) * M + m) * E + e0;
      for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { S[r][q] = sc_ld(sb + q); } }
      z[r] = sc_ld(${zAt}u + (bh * nC + c) * M + m);
    }
  }`
    : `for (var r = 0u; r < ${R}u; r++) { S[r] = vec4<f32>(0.0); z[r] = 0.0; }`;
  const body = `var<workgroup> sn: array<vec4<f32>, ${TB * WG}>;
var<workgroup> sd: array<f32, ${TB * WG}>;
${main(WG)}
  ${head}
  ${init}
  for (var tb = t0; tb < t1; tb += ${TB}u) {
    for (var tt = 0u; tt < ${TB}u; tt++) {
      let t = tb + tt;
      var pn = vec4<f32>(0.0);
      var pd = 0.0;
      if (t < t1) {
        ${loadV}
        for (var r = 0u; r < ${R}u; r++) {
          let m = lid + r * ${WG}u;
          if (m < M) {
            let kv = kf_ld(fb + m);
            S[r] = fma(vec4<f32>(kv), v4, S[r]);
            z[r] += kv;
            let qv = qf_ld(fb + m);
            pn = fma(vec4<f32>(qv), S[r], pn);
            pd = fma(qv, z[r] + eps, pd);
          }
        }
      }
      sn[tt * ${WG}u + lid] = pn;
      sd[tt * ${WG}u + lid] = pd;
    }
    workgroupBarrier();
    if (lid < ${TB}u) {
      let t = tb + lid;
      if (t < t1) {
        var n = vec4<f32>(0.0);
        var d = 0.0;
        for (var j = 0u; j < ${WG}u; j++) { n += sn[lid * ${WG}u + j]; d += sd[lid * ${WG}u + j]; }
        let ob = (bh * T + t) * E + e0;
        for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { y_st(ob + q, n[q] / d); } }
      }
    }
    workgroupBarrier();
  }
}`;
  b.run({
    name: 'performerPrefixSum',
    body,
    inputs: [
      { name: 'qf', data: b.data(qf) },
      { name: 'kf', data: b.data(kf) },
      { name: 'v', data: b.data(v) },
      ...(scratch ? [{ name: 'sc', data: scratch }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(BH * tiles * nC),
  });
  if (scratch) b.free(scratch);
  return b.out(out, [B, H, T, E], qf.dtype);
}

/**
 * Exclusive scan over the chunks of the scratch sums: one thread per (b·h, m, e) line of S and per
 * (b·h, m) of z. Scratch: S sums [BH, nC, M, E] then z sums [BH, nC, M]; params as the kernels'.
 */
function chunkScan(b: WebGpuBackend, scratch: GpuData, params: Param[], lines: number): void {
  b.run({
    name: 'performerPrefixSum_scan',
    body: `${main(256)}
let i = wg * 256u + lid;
let BH = pu(0u); let M = pu(2u); let E = pu(3u); let nC = pu(7u); let zAt = BH * nC * M * E;
if (i >= BH * M * (E + 1u)) { return; }
var base = 0u; var stride = 0u;
if (i < BH * M * E) {
  let bh = i / (M * E); let me = i - bh * M * E;
  base = bh * nC * M * E + me; stride = M * E;
} else {
  let j = i - BH * M * E; let bh = j / M; let m = j - bh * M;
  base = zAt + bh * nC * M + m; stride = M;
}
var run = 0.0;
for (var c = 0u; c < nC; c++) {
  let x = sc_ld(base + c * stride);
  sc_st(base + c * stride, run);
  run += x;
}
}`,
    inputs: [],
    outputs: [{ name: 'sc', data: scratch }],
    params,
    grid: b.grid(Math.ceil(lines / 256)),
  });
}

/**
 * The 'columns' kernels (M ≤ 64): a workgroup per (b·h, 64 value columns, chunk), a thread per
 * column e with S[0..M), e and z[0..M) in registers; φk (and φq) rows staged CB at a time.
 */
function prefixSumColumns(
  b: WebGpuBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
  chunk: number,
): TensorInfo {
  const [B, H, T, M] = qf.shape;
  const E = v.shape[3];
  const BH = B * H;
  const out = b.alloc(BH * T * E, qf.dtype);
  if (BH * T * E === 0) return b.out(out, [B, H, T, E], qf.dtype);
  const et = Math.ceil(E / WG);
  const nC = Math.max(1, Math.ceil(T / chunk));
  // 16-bit outputs of an even row length leave through workgroup memory in whole words
  const pairs = qf.dtype !== 'float32' && E % 2 === 0;
  // params: 0 BH, 1 T, 2 M, 3 E, 4 eps, 5 column tiles, 6 chunk, 7 nC
  const params = [u(BH), u(T), u(M), u(E), f(opts.eps), u(et), u(chunk), u(nC)];
  const head = `let T = pu(1u); let E = pu(3u); let et = pu(5u); let C = pu(6u); let nC = pu(7u);
  let c = wg % nC; let rest = wg / nC;
  if (rest >= pu(0u) * et) { return; }
  let bh = rest / et; let e = (rest - bh * et) * ${WG}u + lid;
  let ok = e < E;
  let t0 = c * C; let t1 = min(t0 + C, T);
  var S: array<f32, ${M}>;
  var z: array<f32, ${M}>;
  var vv: array<f32, ${CB}>;`;
  const loadV = `for (var tt = 0u; tt < ${CB}u; tt++) {
      vv[tt] = 0.0;
      if (ok && tt < nr) { vv[tt] = v_ld((bh * T + tb + tt) * E + e); }
    }`;
  let scratch: GpuData | null = null;
  if (nC > 1) {
    scratch = b.alloc(BH * nC * M * (E + 1), 'float32');
    b.run({
      name: 'performerPrefixSum_chunks',
      body: `var<workgroup> ks: array<f32, ${CB * M}>;
${main(WG)}
  ${head}
  if (c + 1u >= nC) { return; }
  for (var m = 0u; m < ${M}u; m++) { S[m] = 0.0; z[m] = 0.0; }
  for (var tb = t0; tb < t1; tb += ${CB}u) {
    let nr = min(${CB}u, t1 - tb);
    let fb = (bh * T + tb) * ${M}u;
    for (var i = lid; i < nr * ${M}u; i += ${WG}u) { ks[i] = kf_ld(fb + i); }
    workgroupBarrier();
    ${loadV}
    for (var tt = 0u; tt < ${CB}u; tt++) {
      if (tt < nr) {
        for (var m = 0u; m < ${M}u; m++) {
          let kv = ks[tt * ${M}u + m];
          S[m] = fma(kv, vv[tt], S[m]);
          z[m] += kv;
        }
      }
    }
    workgroupBarrier();
  }
  let sb = (bh * nC + c) * ${M}u;
  if (ok) { for (var m = 0u; m < ${M}u; m++) { sc_st((sb + m) * E + e, S[m]); } }
  if (e == 0u) {
    let zAt = pu(0u) * nC * ${M}u * E;
    for (var m = 0u; m < ${M}u; m++) { sc_st(zAt + sb + m, z[m]); }
  }
}`,
      inputs: [
        { name: 'kf', data: b.data(kf) },
        { name: 'v', data: b.data(v) },
      ],
      outputs: [{ name: 'sc', data: scratch }],
      params,
      grid: b.grid(BH * et * nC),
    });
    chunkScan(b, scratch, params, BH * M * (E + 1));
  }
  const init = scratch
    ? `let sb = (bh * nC + c) * ${M}u;
  let zAt = pu(0u) * nC * ${M}u * E;
  for (var m = 0u; m < ${M}u; m++) {
    S[m] = 0.0;
    if (ok) { S[m] = sc_ld((sb + m) * E + e); }
    z[m] = sc_ld(zAt + sb + m);
  }`
    : `for (var m = 0u; m < ${M}u; m++) { S[m] = 0.0; z[m] = 0.0; }`;
  const store = pairs ? 'ys[tt * 64u + lid] = y;' : 'if (ok) { y_st((bh * T + tb + tt) * E + e, y); }';
  const flushPairs = pairs
    ? `workgroupBarrier();
    let e0 = e - lid;
    for (var i = lid; i < nr * ${WG / 2}u; i += ${WG}u) {
      let tt = i / ${WG / 2}u; let p = i - tt * ${WG / 2}u;
      if (e0 + 2u * p < E) {
        y_st2(((bh * T + tb + tt) * E + e0) / 2u + p, vec2<f32>(ys[tt * 64u + 2u * p], ys[tt * 64u + 2u * p + 1u]));
      }
    }`
    : '';
  b.run({
    name: 'performerPrefixSum',
    body: `var<workgroup> ks: array<vec2<f32>, ${CB * M}>;
${pairs ? `var<workgroup> ys: array<f32, ${CB * WG}>;` : ''}
${main(WG)}
  ${head}
  let eps = pf(4u);
  ${init}
  for (var tb = t0; tb < t1; tb += ${CB}u) {
    let nr = min(${CB}u, t1 - tb);
    let fb = (bh * T + tb) * ${M}u;
    for (var i = lid; i < nr * ${M}u; i += ${WG}u) { ks[i] = vec2<f32>(kf_ld(fb + i), qf_ld(fb + i)); }
    workgroupBarrier();
    ${loadV}
    for (var tt = 0u; tt < ${CB}u; tt++) {
      if (tt < nr) {
        var num = 0.0;
        var den = 0.0;
        for (var m = 0u; m < ${M}u; m++) {
          let p = ks[tt * ${M}u + m];
          S[m] = fma(p.x, vv[tt], S[m]);
          z[m] += p.x;
          num = fma(p.y, S[m], num);
          den = fma(p.y, z[m] + eps, den);
        }
        let y = num / den;
        ${store}
      }
    }
    ${flushPairs}
    workgroupBarrier();
  }
}`,
    inputs: [
      { name: 'qf', data: b.data(qf) },
      { name: 'kf', data: b.data(kf) },
      { name: 'v', data: b.data(v) },
      ...(scratch ? [{ name: 'sc', data: scratch }] : []),
    ],
    outputs: [{ name: 'y', data: out, pairs }],
    params,
    grid: b.grid(BH * et * nC),
  });
  if (scratch) b.free(scratch);
  return b.out(out, [B, H, T, E], qf.dtype);
}
