/**
 * Fused stretch + CSR attention (the `cellMaskAttention` capability): csrAttention over the entries
 * stretchToCsr would write for a cell mask, without the CSR arrays, so nothing is read back to the
 * host to size them (docs/algorithm.md §6–§7). One workgroup of 64 threads per (b, t, h): the
 * threads count the entries of each selected cell of the row's head (min(width, k)), scan the counts
 * into cell offsets in workgroup memory, then walk the entries in blocks of 64 as csrAttention does,
 * entry z finding its cell by binary search over the offsets and its key as stretchToCsr places it
 * (cells ascending, keys descending within a cell, a cell wider than k keeping k keys spread from
 * its end). Online softmax; float32 math and sums, whatever the storage dtype.
 */
import type { CellMaskAttentionOptions, TensorInfo } from '@sea/tensor/backend';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { CELL_WGSL } from './csr_common.js';

const WG = 64;
/** Cells a head may have (workgroup memory for their offsets); beyond it the op layer stretches. */
const MAX_CELLS = 1024;

export function cellMaskAttention(
  b: WebGpuBackend,
  mask: TensorInfo,
  rowLen: TensorInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  rowScale: TensorInfo | null,
  opts: CellMaskAttentionOptions,
): TensorInfo | null {
  const [B, Tq, H, Kc] = mask.shape;
  const D = q.shape[3];
  const [, , Tk, E] = v.shape;
  if (D > 256 || E > 256 || Kc > MAX_CELLS) return null;
  const out = b.alloc(B * H * Tq * E, q.dtype);
  const n = B * Tq * H;
  if (n * E === 0) return b.out(out, [B, H, Tq, E], q.dtype);
  if (Kc === 0 || Tk === 0) {
    b.clear(out);
    return b.out(out, [B, H, Tq, E], q.dtype);
  }
  const RE = Math.ceil(E / WG);
  const k4 = D % 4 === 0;
  // 16-bit outputs of an even row length leave through workgroup memory in whole words
  const pairs = q.dtype !== 'float32' && E % 2 === 0;
  const per = Math.ceil(Kc / WG);
  const body = `${CELL_WGSL}
var<workgroup> qs: array<f32, ${D}>;
var<workgroup> ss: array<f32, ${WG}>;
var<workgroup> js: array<u32, ${WG}>;
var<workgroup> part: array<u32, ${WG}>;
var<workgroup> offs: array<u32, ${Kc + 1}>;
${pairs ? `var<workgroup> ys: array<f32, ${RE * WG}>;` : ''}
${main(WG)}
  let i = wg;
  if (i >= pu(0u)) { return; }
  let Tq = pu(1u); let H = pu(2u); let Tk = pu(3u); let Kc = pu(4u); let kcap = pu(5u);
  let D = pu(6u); let E = pu(7u); let scale = pf(8u);
  let h = i % H; let bt = i / H; let t = bt % Tq; let bi = bt / Tq;
  let Lt = u32(max(rl_ld(bt), 0i));
  // entries per cell (min(width, k) for a selected cell), scanned into offsets
  let c0 = min(lid * ${per}u, Kc); let c1 = min(c0 + ${per}u, Kc);
  var s = 0u;
  for (var m = c0; m < c1; m++) {
    if (mk_ld(i * Kc + m) != 0u) { s += min(cell_start(m + 1u, Lt, Kc) - cell_start(m, Lt, Kc), kcap); }
  }
  part[lid] = s;
  workgroupBarrier();
  for (var o = 1u; o < ${WG}u; o <<= 1u) {
    var add = 0u;
    if (lid >= o) { add = part[lid - o]; }
    workgroupBarrier();
    part[lid] += add;
    workgroupBarrier();
  }
  var run = part[lid] - s;
  for (var m = c0; m < c1; m++) {
    offs[m] = run;
    if (mk_ld(i * Kc + m) != 0u) { run += min(cell_start(m + 1u, Lt, Kc) - cell_start(m, Lt, Kc), kcap); }
  }
  if (lid == ${WG - 1}u) { offs[Kc] = part[lid]; }
  let qb = ((bi * H + h) * Tq + t) * D;
  for (var d = lid; d < D; d += ${WG}u) { qs[d] = q_ld(qb + d); }
  let total = workgroupUniformLoad(&offs[Kc]);
  let kb = (bi * H + h) * Tk;
  var mx = -inf_f32();
  var l = 0.0;
  var acc: array<f32, ${RE}>;
  for (var r = 0u; r < ${RE}u; r++) { acc[r] = 0.0; }
  for (var z0 = 0u; z0 < total; z0 += ${WG}u) {
    let z = z0 + lid;
    var sc = -inf_f32();
    var j = 0u;
    if (z < total) {
      // the last cell whose offset is ≤ z (an empty cell shares its offset with the next one)
      var lo = 0u; var hi = Kc - 1u;
      while (lo < hi) {
        let mid = (lo + hi + 1u) / 2u;
        if (offs[mid] <= z) { lo = mid; } else { hi = mid - 1u; }
      }
      let a = cell_start(lo, Lt, Kc); let e = cell_start(lo + 1u, Lt, Kc);
      let w = e - a; let nk = min(w, kcap);
      j = e - 1u - ((z - offs[lo]) * w) / nk;
      let kr = (kb + j) * D;
      var acc_d = 0.0;
      ${
        k4
          ? `for (var d = 0u; d < D; d += 4u) {
        acc_d += dot(vec4<f32>(qs[d], qs[d + 1u], qs[d + 2u], qs[d + 3u]), k_ld4((kr + d) / 4u));
      }`
          : 'for (var d = 0u; d < D; d++) { acc_d = fma(qs[d], k_ld(kr + d), acc_d); }'
      }
      sc = acc_d * scale;
    }
    ss[lid] = sc;
    js[lid] = j;
    workgroupBarrier();
    let cnt = min(${WG}u, total - z0);
    var bm = mx;
    for (var x = 0u; x < cnt; x++) { bm = max(bm, ss[x]); }
    let corr = exp(mx - bm);
    mx = bm;
    l = l * corr;
    for (var r = 0u; r < ${RE}u; r++) { acc[r] = acc[r] * corr; }
    for (var x = 0u; x < cnt; x++) {
      let p = exp(ss[x] - mx);
      l += p;
      let vr = (kb + js[x]) * E;
      for (var r = 0u; r < ${RE}u; r++) {
        let c = lid + r * ${WG}u;
        if (c < E) { acc[r] = fma(p, v_ld(vr + c), acc[r]); }
      }
    }
    workgroupBarrier();
  }
  let ob = ((bi * H + h) * Tq + t) * E;
  var fin = 0.0;
  if (total > 0u) { fin = ${rowScale ? 'rs_ld((bi * H + h) * Tq + t)' : '1.0'} / l; }
  ${
    pairs
      ? `for (var r = 0u; r < ${RE}u; r++) { ys[lid + r * ${WG}u] = acc[r] * fin; }
  workgroupBarrier();
  for (var p = lid; p < E / 2u; p += ${WG}u) { y_st2(ob / 2u + p, vec2<f32>(ys[2u * p], ys[2u * p + 1u])); }`
      : `for (var r = 0u; r < ${RE}u; r++) {
    let c = lid + r * ${WG}u;
    if (c < E) { y_st(ob + c, acc[r] * fin); }
  }`
  }
}`;
  b.run({
    name: 'cellMaskAttention',
    body,
    inputs: [
      { name: 'mk', data: b.data(mask) },
      { name: 'rl', data: b.data(rowLen) },
      { name: 'q', data: b.data(q) },
      { name: 'k', data: b.data(k), vec4: k4 },
      { name: 'v', data: b.data(v) },
      ...(rowScale ? [{ name: 'rs', data: b.data(rowScale) }] : []),
    ],
    outputs: [{ name: 'y', data: out, pairs }],
    params: [u(n), u(Tq), u(H), u(Tk), u(Kc), u(opts.k), u(D), u(E), f(opts.scale)],
    grid: b.grid(n),
  });
  return b.out(out, [B, H, Tq, E], q.dtype);
}
