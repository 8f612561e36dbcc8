/**
 * Fused CSR attention: out[b,h,t] = rowScale[b,h,t] · Σ_z softmax_z(scale · q[b,h,t]·k[b,h,j_z]) ·
 * v[b,h,j_z] over the entries z of row t in head h, in one pass without the [B, Z] scores in
 * memory. One workgroup of 64 threads per (b, t, h): entries go in blocks of 64, one per thread for
 * the dot product; the block's scores sit in workgroup memory, and each thread then accumulates its
 * output columns over the block with the running maximum rescaling the sums (online softmax), so v
 * rows are read coalesced. float32 math and sums, whatever the storage dtype.
 */
import type { CsrAttentionOptions, CsrInfo, TensorInfo } from '@sea/tensor/backend';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { LOWER_BOUND_WGSL } from './csr_common.js';

const WG = 64;

export function csrAttention(
  b: WebGpuBackend,
  csr: CsrInfo,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  rowScale: TensorInfo | null,
  opts: CsrAttentionOptions,
): TensorInfo | null {
  const [B, H, Tq, D] = q.shape;
  const [, , Tk, E] = v.shape;
  const Z = csr.col.shape[1];
  if (D > 256 || E > 256) return null;
  const out = b.alloc(B * H * Tq * E, q.dtype);
  const n = B * Tq * H;
  if (n * E === 0) return b.out(out, [B, H, Tq, E], q.dtype);
  const RE = Math.ceil(E / WG);
  // k rows as vec4 when the head size allows (a quarter of the loads).
  const k4 = D % 4 === 0;
  const body = `${LOWER_BOUND_WGSL}
var<workgroup> qs: array<f32, ${D}>;
var<workgroup> ss: array<f32, ${WG}>;
var<workgroup> js: array<u32, ${WG}>;
var<workgroup> bounds: array<u32, 2>;
${main(WG)}
  let i = wg;
  if (i >= pu(0u)) { return; }
  let Tq = pu(1u); let H = pu(2u); let Tk = pu(3u); let Z = pu(4u); let D = pu(5u); let E = pu(6u);
  let scale = pf(7u);
  let h = i % H; let bt = i / H; let t = bt % Tq; let bi = bt / Tq;
  if (lid == 0u) {
    let rb = bi * (Tq + 1u) + t;
    let r0 = bi * Z + u32(cr_ld(rb)); let r1 = bi * Z + u32(cr_ld(rb + 1u));
    let lo = lower_bound(r0, r1, i32(h * Tk));
    bounds[0] = lo;
    bounds[1] = lower_bound(lo, r1, i32((h + 1u) * Tk));
  }
  let qb = ((bi * H + h) * Tq + t) * D;
  for (var d = lid; d < D; d += ${WG}u) { qs[d] = q_ld(qb + d); }
  let lo = workgroupUniformLoad(&bounds[0]);
  let hi = workgroupUniformLoad(&bounds[1]);
  let kb = (bi * H + h) * Tk;
  var mx = -inf_f32();
  var l = 0.0;
  var acc: array<f32, ${RE}>;
  for (var r = 0u; r < ${RE}u; r++) { acc[r] = 0.0; }
  for (var z0 = lo; z0 < hi; z0 += ${WG}u) {
    let z = z0 + lid;
    var s = -inf_f32();
    var j = 0u;
    if (z < hi) {
      j = u32(cl_ld(z)) - h * Tk;
      let kr = (kb + j) * D;
      var acc_d = 0.0;
      ${
        k4
          ? `for (var d = 0u; d < D; d += 4u) {
        acc_d += dot(vec4<f32>(qs[d], qs[d + 1u], qs[d + 2u], qs[d + 3u]), k_ld4((kr + d) / 4u));
      }`
          : 'for (var d = 0u; d < D; d++) { acc_d = fma(qs[d], k_ld(kr + d), acc_d); }'
      }
      s = acc_d * scale;
    }
    ss[lid] = s;
    js[lid] = j;
    workgroupBarrier();
    let cnt = min(${WG}u, hi - z0);
    var bm = mx;
    for (var e = 0u; e < cnt; e++) { bm = max(bm, ss[e]); }
    let corr = exp(mx - bm);
    mx = bm;
    l = l * corr;
    for (var r = 0u; r < ${RE}u; r++) { acc[r] = acc[r] * corr; }
    for (var e = 0u; e < cnt; e++) {
      let p = exp(ss[e] - mx);
      l += p;
      let vr = (kb + js[e]) * E;
      for (var r = 0u; r < ${RE}u; r++) {
        let c = lid + r * ${WG}u;
        if (c < E) { acc[r] = fma(p, v_ld(vr + c), acc[r]); }
      }
    }
    workgroupBarrier();
  }
  let ob = ((bi * H + h) * Tq + t) * E;
  var sc = 0.0;
  if (hi > lo) { sc = ${rowScale ? 'rs_ld((bi * H + h) * Tq + t)' : '1.0'} / l; }
  for (var r = 0u; r < ${RE}u; r++) {
    let c = lid + r * ${WG}u;
    if (c < E) { y_st(ob + c, acc[r] * sc); }
  }
}`;
  b.run({
    name: 'csrAttention',
    body,
    inputs: [
      { name: 'cr', data: b.data(csr.crow) },
      { name: 'cl', data: b.data(csr.col) },
      { name: 'q', data: b.data(q) },
      { name: 'k', data: b.data(k), vec4: k4 },
      { name: 'v', data: b.data(v) },
      ...(rowScale ? [{ name: 'rs', data: b.data(rowScale) }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(Tq), u(H), u(Tk), u(Z), u(D), u(E), f(opts.scale)],
    grid: b.grid(n),
  });
  return b.out(out, [B, H, Tq, E], q.dtype);
}
