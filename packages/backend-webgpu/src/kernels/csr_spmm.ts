/**
 * CSR SpMM: out[b,h,t] = Σ val[b,z]·v[b,h,j] over the entries of row t in head h (no cap).
 * One workgroup per (b, t, h); its threads split the D output columns, so each entry's v row is
 * read once, coalesced.
 */
import type { CsrInfo, TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { LOWER_BOUND_WGSL } from './csr_common.js';

const WG = 64;

export function csrSpmm(b: WebGpuBackend, csr: CsrInfo, val: TensorInfo, v: TensorInfo): TensorInfo {
  const [B, H, Tk, D] = v.shape;
  const Tq = csr.crow.shape[1] - 1;
  const Z = val.shape[1];
  const out = b.alloc(B * H * Tq * D, v.dtype);
  const n = B * Tq * H;
  if (Z === 0) {
    b.clear(out);
    return b.out(out, [B, H, Tq, D], v.dtype);
  }
  b.run({
    name: 'csrSpmm',
    body: `${LOWER_BOUND_WGSL}
${main(WG)}
  let i = wg;
  if (i >= pu(0u)) { return; }
  let Tq = pu(1u); let H = pu(2u); let Tk = pu(3u); let Z = pu(4u); let D = pu(5u);
  let h = i % H; let bt = i / H; let t = bt % Tq; let bi = bt / Tq;
  let rb = bi * (Tq + 1u) + t;
  let r0 = bi * Z + u32(cr_ld(rb)); let r1 = bi * Z + u32(cr_ld(rb + 1u));
  let lo = lower_bound(r0, r1, i32(h * Tk));
  let hi = lower_bound(lo, r1, i32((h + 1u) * Tk));
  let vb = (bi * H + h) * Tk;
  let ob = ((bi * H + h) * Tq + t) * D;
  for (var d = lid; d < D; d += ${WG}u) {
    var s = 0.0;
    for (var z = lo; z < hi; z++) {
      let j = u32(cl_ld(z)) - h * Tk;
      s = fma(a_ld(z), v_ld((vb + j) * D + d), s);
    }
    y_st(ob + d, s);
  }
}`,
    inputs: [
      { name: 'cr', data: b.data(csr.crow) },
      { name: 'cl', data: b.data(csr.col) },
      { name: 'a', data: b.data(val) },
      { name: 'v', data: b.data(v) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(Tq), u(H), u(Tk), u(Z), u(D)],
    grid: b.grid(n),
  });
  return b.out(out, [B, H, Tq, D], v.dtype);
}
