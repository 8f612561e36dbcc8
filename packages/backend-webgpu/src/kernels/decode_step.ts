/**
 * The SEA decoding steps (docs/algorithm.md §8): one new row of the causal Performer from its running
 * sums (one workgroup per (b, h)), and one row of the causal estimator's CNN from its rolling windows
 * (four dispatches: the LN, each conv, the head; the intermediate rows in a float32 scratch
 * buffer). float32 math; the contract's roundings to the inputs' dtype through `rd`.
 */
import { DeviceError, type DType, type TensorInfo } from '@sea/tensor';
import type {
  CausalCnnStepWeights,
  PerformerStepOptions,
  SeaDecodeAttentionOptions,
  SeaEncoderStepWeights,
} from '@sea/tensor/backend';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { rowReduceWgsl } from './row_reduce.js';
import { ERF_WGSL } from './unary.js';

/** WGSL `fn rd(x: f32) -> f32`: x rounded to `dtype` (the 16-bit helpers come with 16-bit bindings). */
function roundFn(dtype: DType): string {
  if (dtype === 'bfloat16') return 'fn rd(x: f32) -> f32 { return bitcast<f32>(bf16_bits(x) << 16u); }';
  if (dtype === 'float16') return 'fn rd(x: f32) -> f32 { return unpack2x16float(f16_bits(x)).x; }';
  return 'fn rd(x: f32) -> f32 { return x; }';
}

const WG = 64;

export function performerStep(
  b: WebGpuBackend,
  sums: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  prefix: TensorInfo | null,
  v: TensorInfo,
  w: TensorInfo,
  opts: PerformerStepOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, M, E1] = sums.shape;
  const E = E1 - 1;
  const P = prefix ? prefix.shape[1] : 0;
  const Ev = E - P;
  const rows = opts.prefixRows ?? [];
  const D = w.shape[1];
  const BH = B * H;
  const out = b.alloc(BH * E, q.dtype);
  const next = b.alloc(BH * M * E1, 'float32');
  b.run({
    name: 'performerStep',
    body: `${roundFn(q.dtype)}
var<workgroup> fq: array<f32, ${M}>;
var<workgroup> fk: array<f32, ${M}>;
var<workgroup> num: array<f32, ${E1}>;
${main(WG)}
  let bh = wg;
  if (bh >= pu(0u)) { return; }
  let keps = pf(1u);
  for (var m = lid; m < ${M}u; m += ${WG}u) {
    var a = 0.0;
    var c = 0.0;
    for (var d = 0u; d < ${D}u; d++) {
      let wv = w_ld(m * ${D}u + d);
      a += q_ld(bh * ${D}u + d) * wv;
      c += k_ld(bh * ${D}u + d) * wv;
    }
    fq[m] = rd(max(a, 0.0) + keps);
    fk[m] = rd(max(c, 0.0) + keps);
  }
  workgroupBarrier();
  for (var e = lid; e < ${E1}u; e += ${WG}u) {
    var ve = 1.0;
    ${P > 0 ? `if (e < ${P}u) { ve = pr_ld(pu(2u + bh / ${H}u) * ${P}u + e); } else ` : ''}if (e < ${E}u) { ve = v_ld(bh * ${Ev}u + e - ${P}u); }
    var acc = 0.0;
    for (var m = 0u; m < ${M}u; m++) {
      let i = (bh * ${M}u + m) * ${E1}u + e;
      let s = s_ld(i) + fk[m] * ve;
      n_st(i, s);
      acc += fq[m] * s;
    }
    num[e] = acc;
  }
  workgroupBarrier();
  for (var e = lid; e < ${E}u; e += ${WG}u) { y_st(bh * ${E}u + e, num[e] / num[${E}u]); }
}`,
    inputs: [
      { name: 's', data: b.data(sums) },
      { name: 'q', data: b.data(q) },
      { name: 'k', data: b.data(k) },
      { name: 'v', data: b.data(v) },
      { name: 'w', data: b.data(w) },
      ...(prefix ? [{ name: 'pr', data: b.data(prefix) }] : []),
    ],
    outputs: [
      { name: 'y', data: out },
      { name: 'n', data: next },
    ],
    // the prefix table's row of each sequence follows BH and κ
    params: [u(BH), f(opts.kernelEps), ...rows.map((r) => u(r))],
    grid: b.grid(BH),
  });
  return [b.out(out, [B, H, 1, E], q.dtype), b.out(next, sums.shape, 'float32')];
}

export function causalCnnStep(
  b: WebGpuBackend,
  x: TensorInfo,
  win0: TensorInfo,
  win1: TensorInfo,
  w: CausalCnnStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo, TensorInfo] {
  const [B, C, , W] = x.shape;
  const H = w.convOut.shape[0];
  const K = w.map.shape[0];
  const dt = x.dtype;
  const CW = C * W;
  const W2 = W + 2;
  // scratch per sequence: x0, x1, x2 [C, W], the padded head rows [H, W+2], the rows before LN [H, K]
  const per = 3 * CW + H * W2 + H * K;
  const scratch = b.alloc(B * per, 'float32');
  const logits = b.alloc(B * H * K, dt);
  const n0 = b.alloc(B * C * 4 * W, dt);
  const n1 = b.alloc(B * C * 4 * W, dt);
  const S = { x0: 0, x1: CW, x2: 2 * CW, z: 3 * CW, o: 3 * CW + H * W2 };
  const params = [u(B), f(opts.eps)];
  // 1. LN(x) over W per channel (into the scratch and the last row of win0'); the windows move up
  b.run({
    name: 'causalCnnStep_norm',
    body: `${roundFn(dt)}
${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u) * ${C}u) { return; }
  let bb = idx / ${C}u;
  let ch = idx - bb * ${C}u;
  let eps = pf(1u);
  let base = bb * ${per}u;
  let xb = idx * ${W}u;
  var s = 0.0;
  for (var p = 0u; p < ${W}u; p++) { s += x_ld(xb + p); }
  let mean = s / ${W}.0;
  var s2 = 0.0;
  for (var p = 0u; p < ${W}u; p++) { let d = x_ld(xb + p) - mean; s2 += d * d; }
  let r = 1.0 / sqrt(s2 / ${W}.0 + eps);
  let wb = idx * ${4 * W}u;
  for (var p = 0u; p < ${W}u; p++) {
    let y = rd((x_ld(xb + p) - mean) * r * gi_ld(p) + bi_ld(p));
    sc_st(base + ${S.x0}u + ch * ${W}u + p, y);
    n0_st(wb + ${3 * W}u + p, y);
    for (var rr = 0u; rr < 3u; rr++) {
      n0_st(wb + rr * ${W}u + p, w0_ld(wb + (rr + 1u) * ${W}u + p));
      n1_st(wb + rr * ${W}u + p, w1_ld(wb + (rr + 1u) * ${W}u + p));
    }
  }
}`,
    inputs: [
      { name: 'x', data: b.data(x) },
      { name: 'w0', data: b.data(win0) },
      { name: 'w1', data: b.data(win1) },
      { name: 'gi', data: b.data(w.normInGamma) },
      { name: 'bi', data: b.data(w.normInBeta) },
    ],
    outputs: [
      { name: 'n0', data: n0 },
      { name: 'n1', data: n1 },
      { name: 'sc', data: scratch },
    ],
    params,
    grid: b.grid(Math.ceil((B * C) / WG)),
  });
  // 2, 3. conv1 (its row also into the last row of win1'), conv2: one thread per (b, channel, column)
  for (const [i, win, taps, bias, from, to] of [
    [1, win0, w.conv1, w.conv1Bias, S.x0, S.x1],
    [2, win1, w.conv2, w.conv2Bias, S.x1, S.x2],
  ] as const) {
    b.run({
      name: `causalCnnStep_conv${i}`,
      body: `${roundFn(dt)}
${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u) * ${CW}u) { return; }
  let bb = idx / ${CW}u;
  let rest = idx - bb * ${CW}u;
  let o = rest / ${W}u;
  let p = rest - o * ${W}u;
  let base = bb * ${per}u;
  var a = cb_ld(o);
  for (var i = 0u; i < ${C}u; i++) {
    for (var c = 0u; c < 3u; c++) {
      let col = i32(p) + 2 * i32(c) - 2;
      if (col < 0 || col >= ${W}) { continue; }
      let tb = ((o * ${C}u + i) * 3u) * 3u + c;
      let wb = (bb * ${C}u + i) * ${4 * W}u + u32(col);
      a += ct_ld(tb) * win_ld(wb);
      a += ct_ld(tb + 3u) * win_ld(wb + ${2 * W}u);
      a += ct_ld(tb + 6u) * sc_ld(base + ${from}u + i * ${W}u + u32(col));
    }
  }
  let y = rd(max(a, 0.0));
  sc_st(base + ${to}u + rest, y);
  ${i === 1 ? `n1_st((bb * ${C}u + o) * ${4 * W}u + ${3 * W}u + p, y);` : ''}
}`,
      inputs: [
        { name: 'win', data: b.data(win) },
        { name: 'ct', data: b.data(taps) },
        { name: 'cb', data: b.data(bias) },
      ],
      outputs: [...(i === 1 ? [{ name: 'n1', data: n1 }] : []), { name: 'sc', data: scratch }],
      params,
      grid: b.grid(Math.ceil((B * CW) / WG)),
    });
  }
  // 4. the head, one workgroup per sequence: the 1×1 conv 2H → H with the bias as the two edge
  // columns, the width map to K, LN over K
  b.run({
    name: 'causalCnnStep_head',
    body: `${main(WG)}
  let bb = wg;
  if (bb >= pu(0u)) { return; }
  let eps = pf(1u);
  let base = bb * ${per}u;
  for (var idx = lid; idx < ${H * W2}u; idx += ${WG}u) {
    let h = idx / ${W2}u;
    let p = idx - h * ${W2}u;
    var a = co_b_ld(h);
    if (p >= 1u && p <= ${W}u) {
      for (var c = 0u; c < ${C}u; c++) { a += co_ld(h * ${C}u + c) * sc_ld(base + ${S.x2}u + c * ${W}u + p - 1u); }
    }
    sc_st(base + ${S.z}u + idx, a);
  }
  storageBarrier();
  workgroupBarrier();
  for (var idx = lid; idx < ${H * K}u; idx += ${WG}u) {
    let h = idx / ${K}u;
    let j = idx - h * ${K}u;
    var a = 0.0;
    for (var i = 0u; i < ${W2}u; i++) { a += mp_ld(j * ${W2}u + i) * sc_ld(base + ${S.z}u + h * ${W2}u + i); }
    sc_st(base + ${S.o}u + idx, a);
  }
  storageBarrier();
  workgroupBarrier();
  for (var h = lid; h < ${H}u; h += ${WG}u) {
    let ob = base + ${S.o}u + h * ${K}u;
    var s = 0.0;
    for (var j = 0u; j < ${K}u; j++) { s += sc_ld(ob + j); }
    let mean = s / ${K}.0;
    var s2 = 0.0;
    for (var j = 0u; j < ${K}u; j++) { let d = sc_ld(ob + j) - mean; s2 += d * d; }
    let r = 1.0 / sqrt(s2 / ${K}.0 + eps);
    for (var j = 0u; j < ${K}u; j++) {
      y_st((bb * ${H}u + h) * ${K}u + j, (sc_ld(ob + j) - mean) * r * go_ld(j) + bo_ld(j));
    }
  }
}`,
    inputs: [
      { name: 'co', data: b.data(w.convOut) },
      { name: 'co_b', data: b.data(w.convOutBias) },
      { name: 'mp', data: b.data(w.map) },
      { name: 'go', data: b.data(w.normOutGamma) },
      { name: 'bo', data: b.data(w.normOutBeta) },
    ],
    outputs: [
      { name: 'y', data: logits },
      { name: 'sc', data: scratch },
    ],
    params,
    grid: b.grid(B),
  });
  b.free(scratch);
  return [b.out(logits, [B, H, 1, K], dt), b.out(n0, win0.shape, dt), b.out(n1, win1.shape, dt)];
}

/**
 * The sparse attention of one decoded row (docs/algorithm.md §5–§7): (1) Â = softmax over K per
 * (b, h) into a float32 scratch, rounded to the dtype; (2) per (b, h): each of the head's cells is
 * selected when fewer than n of the row's H·K cells rank above it (larger Â, or equal at a lower
 * index), its key count min(width, kcap) kept in workgroup memory and scanned; the scores of its
 * entries into a scratch row, the softmax over them, the weighted sum of V per output column; then
 * the scalers, C_avg and the mix. The row lengths come as a small int32 upload.
 */
export function seaDecodeAttention(
  b: WebGpuBackend,
  logits: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  scales: TensorInfo,
  vSum: TensorInfo,
  opts: SeaDecodeAttentionOptions,
): [TensorInfo, TensorInfo] {
  const [B, H, , K] = logits.shape;
  const [, , Tk, D] = k.shape;
  const E = v.shape[3];
  const dt = q.dtype;
  if (K > 2048) throw new DeviceError(`webgpu seaDecodeAttention supports at most 2048 cells, got ${K}`);
  const BH = B * H;
  const HK = H * K;
  const out = b.alloc(BH * E, dt);
  const next = b.alloc(BH * E, 'float32');
  const probs = b.alloc(B * HK, 'float32');
  const scores = b.alloc(BH * Tk, 'float32');
  const lens = b.data(b.upload(Int32Array.from(opts.rowLen), 'int32'));
  const params = [u(BH), f(opts.scale), u(opts.k)];
  try {
    b.run({
      name: 'seaDecodeAttention_probs',
      body: `${roundFn(dt)}
${rowReduceWgsl(WG)}
${main(WG)}
  let bh = wg;
  if (bh >= pu(0u)) { return; }
  let o = bh * ${K}u;
  var m = -inf_f32();
  for (var c = lid; c < ${K}u; c += ${WG}u) { m = max(m, x_ld(o + c)); }
  m = wg_max(m, lid);
  var s = 0.0;
  for (var c = lid; c < ${K}u; c += ${WG}u) { s += exp(x_ld(o + c) - m); }
  s = wg_sum(s, lid);
  for (var c = lid; c < ${K}u; c += ${WG}u) { p_st(o + c, rd(exp(x_ld(o + c) - m) / s)); }
}`,
      inputs: [{ name: 'x', data: b.data(logits) }],
      outputs: [{ name: 'p', data: probs }],
      params,
      grid: b.grid(BH),
    });
    b.run({
      name: 'seaDecodeAttention',
      body: `${roundFn(dt)}
${rowReduceWgsl(WG)}
var<workgroup> cnt: array<u32, ${K}>;
var<workgroup> start: array<u32, ${K + 1}>;
fn cellOf(z: u32) -> u32 {
  var lo = 0u;
  var hi = ${K - 1}u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (start[mid] <= z) { lo = mid; } else { hi = mid - 1u; }
  }
  return lo;
}
fn bnd(c: u32, L: u32) -> u32 { return (2u * c * L + ${K}u) / ${2 * K}u; }
${main(WG)}
  let bh = wg;
  if (bh >= pu(0u)) { return; }
  let bb = bh / ${H}u;
  let h = bh - bb * ${H}u;
  let scale = pf(1u);
  let kcap = pu(2u);
  let L = u32(clamp(ln_ld(bb), 1, ${Tk}));
  // the causal budget n = min(max(round½even(H·kcap·K / L), 1), H·K)
  let num = ${H * K}u * kcap;
  var n = num / L;
  let r2 = 2u * (num - n * L);
  if (r2 > L || (r2 == L && (n & 1u) == 1u)) { n += 1u; }
  n = clamp(n, 1u, ${HK}u);
  let pb = bb * ${HK}u;
  for (var c = lid; c < ${K}u; c += ${WG}u) {
    let i = h * ${K}u + c;
    let pc = p_ld(pb + i);
    var rank = 0u;
    for (var j = 0u; j < ${HK}u; j++) {
      let pj = p_ld(pb + j);
      if (pj > pc || (pj == pc && j < i)) { rank += 1u; }
    }
    var w = 0u;
    if (rank < n) { w = bnd(c + 1u, L) - bnd(c, L); }
    cnt[c] = min(w, kcap);
  }
  workgroupBarrier();
  if (lid == 0u) {
    var run = 0u;
    for (var c = 0u; c < ${K}u; c++) { start[c] = run; run += cnt[c]; }
    start[${K}u] = run;
  }
  workgroupBarrier();
  let ze = start[${K}u];
  let kb = bh * ${Tk}u;
  // the key of entry z: its cell's end − 1 − i, or − ⌊i·w/kcap⌋ in a cell wider than kcap
  var m = -inf_f32();
  for (var z = lid; z < ze; z += ${WG}u) {
    let c = cellOf(z);
    let e = bnd(c + 1u, L);
    let w = e - bnd(c, L);
    let i = z - start[c];
    var jj = e - 1u - i;
    if (w > kcap) { jj = e - 1u - (i * w) / kcap; }
    var a = 0.0;
    for (var d = 0u; d < ${D}u; d++) { a += q_ld(bh * ${D}u + d) * k_ld((kb + jj) * ${D}u + d); }
    a = a * scale;
    sc_st(kb + z, a);
    m = max(m, a);
  }
  m = wg_max(m, lid);
  var l = 0.0;
  for (var z = lid; z < ze; z += ${WG}u) {
    let pz = exp(sc_ld(kb + z) - m);
    sc_st(kb + z, pz);
    l += pz;
  }
  l = wg_sum(l, lid);
  storageBarrier();
  workgroupBarrier();
  let sp = rd(1.0 / (1.0 + exp(-s_ld(bh * 2u))));
  let sm = rd(1.0 / (1.0 + exp(-s_ld(bh * 2u + 1u))));
  var g = 0.0;
  if (l > 0.0) { g = sp / l; }
  for (var e = lid; e < ${E}u; e += ${WG}u) {
    var acc = 0.0;
    for (var z = 0u; z < ze; z++) {
      let c = cellOf(z);
      let en = bnd(c + 1u, L);
      let w = en - bnd(c, L);
      let i = z - start[c];
      var jj = en - 1u - i;
      if (w > kcap) { jj = en - 1u - (i * w) / kcap; }
      acc += sc_ld(kb + z) * v_ld((kb + jj) * ${E}u + e);
    }
    let local = rd(acc * g);
    let vs = vs_ld(bh * ${E}u + e) + v_ld((kb + L - 1u) * ${E}u + e);
    n_st(bh * ${E}u + e, vs);
    y_st(bh * ${E}u + e, sm * local + (1.0 - sm) * (vs / f32(L)));
  }
}`,
      inputs: [
        { name: 'p', data: probs },
        { name: 'ln', data: lens },
        { name: 'q', data: b.data(q) },
        { name: 'k', data: b.data(k) },
        { name: 'v', data: b.data(v) },
        { name: 's', data: b.data(scales) },
        { name: 'vs', data: b.data(vSum) },
      ],
      outputs: [
        { name: 'y', data: out },
        { name: 'n', data: next },
        { name: 'sc', data: scores },
      ],
      params,
      grid: b.grid(BH),
    });
  } catch (err) {
    b.free(out);
    b.free(next);
    throw err;
  } finally {
    b.free(probs);
    b.free(scores);
    b.free(lens);
  }
  return [b.out(out, [B, H, 1, E], dt), b.out(next, [B, H, 1, E], 'float32')];
}

/**
 * The estimator's encoder on one row per (b, h), one workgroup each: the row [c ; v] and z in
 * workgroup memory; a thread per output row of each Linear, the LayerNorm by workgroup sums.
 */
export function seaEncoderStep(
  b: WebGpuBackend,
  c: TensorInfo,
  v: TensorInfo,
  w: SeaEncoderStepWeights,
  opts: { eps: number },
): [TensorInfo, TensorInfo] {
  const [B, H, , Ec] = c.shape;
  const Ev = v.shape[3];
  const N = w.encoder.shape[0];
  const S = w.scaler.shape[0];
  const X = w.nu.shape[0];
  const In = Ec + Ev;
  const dt = c.dtype;
  if (In + N > 3072)
    throw new DeviceError(
      `webgpu seaEncoderStep holds at most 3072 values of a row in workgroup memory, got ${In + N}`,
    );
  const BH = B * H;
  // two dispatches of at most 7 storage bindings each (WebGPU guarantees 8 per stage): the encoder
  // row z (rounded to the dtype, kept in float32) goes through a scratch buffer
  const zs = b.alloc(BH * N, 'float32');
  const scales = b.alloc(BH * S, dt);
  const xs = b.alloc(BH * X, dt);
  try {
    b.run({
      name: 'seaEncoderStep',
      body: `${roundFn(dt)}
${ERF_WGSL}
${rowReduceWgsl(WG)}
var<workgroup> row: array<f32, ${In}>;
var<workgroup> z: array<f32, ${N}>;
${main(WG)}
  let bh = wg;
  if (bh >= pu(0u)) { return; }
  for (var i = lid; i < ${Ec}u; i += ${WG}u) { row[i] = c_ld(bh * ${Ec}u + i); }
  for (var i = lid; i < ${Ev}u; i += ${WG}u) { row[${Ec}u + i] = v_ld(bh * ${Ev}u + i); }
  workgroupBarrier();
  for (var j = lid; j < ${N}u; j += ${WG}u) {
    var a = eb_ld(j);
    for (var i = 0u; i < ${In}u; i++) { a += ew_ld(j * ${In}u + i) * row[i]; }
    z[j] = a;
  }
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < ${N}u; j += ${WG}u) { s += z[j]; }
  let mean = wg_sum(s, lid) / ${N}.0;
  var s2 = 0.0;
  for (var j = lid; j < ${N}u; j += ${WG}u) { let d = z[j] - mean; s2 += d * d; }
  let r = 1.0 / sqrt(wg_sum(s2, lid) / ${N}.0 + pf(1u));
  for (var j = lid; j < ${N}u; j += ${WG}u) {
    let y = (z[j] - mean) * r * g_ld(j) + bt_ld(j);
    zo_st(bh * ${N}u + j, rd(0.5 * y * (1.0 + erf_f32(y * 0.70710678118654752))));
  }
}`,
      inputs: [
        { name: 'c', data: b.data(c) },
        { name: 'v', data: b.data(v) },
        { name: 'ew', data: b.data(w.encoder) },
        { name: 'eb', data: b.data(w.encoderBias) },
        { name: 'g', data: b.data(w.normGamma) },
        { name: 'bt', data: b.data(w.normBeta) },
      ],
      outputs: [{ name: 'zo', data: zs }],
      params: [u(BH), f(opts.eps)],
      grid: b.grid(BH),
    });
    b.run({
      name: 'seaEncoderStepHeads',
      body: `${roundFn(dt)}
var<workgroup> z: array<f32, ${N}>;
${main(WG)}
  let bh = wg;
  if (bh >= pu(0u)) { return; }
  for (var j = lid; j < ${N}u; j += ${WG}u) { z[j] = zi_ld(bh * ${N}u + j); }
  workgroupBarrier();
  for (var o = lid; o < ${S + X}u; o += ${WG}u) {
    var a = 0.0;
    if (o < ${S}u) {
      a = sb_ld(o);
      for (var j = 0u; j < ${N}u; j++) { a += sw_ld(o * ${N}u + j) * z[j]; }
      ys_st(bh * ${S}u + o, a);
    } else {
      let x = o - ${S}u;
      a = nb_ld(x);
      for (var j = 0u; j < ${N}u; j++) { a += nw_ld(x * ${N}u + j) * z[j]; }
      yx_st(bh * ${X}u + x, a);
    }
  }
}`,
      inputs: [
        { name: 'zi', data: zs },
        { name: 'sw', data: b.data(w.scaler) },
        { name: 'sb', data: b.data(w.scalerBias) },
        { name: 'nw', data: b.data(w.nu) },
        { name: 'nb', data: b.data(w.nuBias) },
      ],
      outputs: [
        { name: 'ys', data: scales },
        { name: 'yx', data: xs },
      ],
      params: [u(BH)],
      grid: b.grid(BH),
    });
  } catch (err) {
    b.free(scales);
    b.free(xs);
    throw err;
  } finally {
    b.free(zs);
  }
  return [b.out(scales, [B, H, 1, S], dt), b.out(xs, [B, H, 1, X], dt)];
}
