import type { CsrInfo, TensorInfo } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * CSR SpMM: out[b,h,t] = Σ_{entries z of row t in head h} val[b,z]·v[b,h,j] → float32 [B,H,Tq,D].
 * Every entry is used (no per-head cap, unlike the official kernel's MAX_ROW_T). Each row
 * accumulates its H·D outputs in a double buffer reused across rows. O(nnz·D).
 */
export function csrSpmm(b: CpuBackend, csr: CsrInfo, val: TensorInfo, v: TensorInfo): TensorInfo {
  const crow = b.values(csr.crow);
  const col = b.values(csr.col);
  const pv = b.values(val);
  const vv = b.values(v);
  const [B, H, Tk, D] = v.shape;
  const Tq = csr.crow.shape[1] - 1;
  const Z = csr.col.shape[1];
  const out = new Float32Array(B * H * Tq * D);
  const acc = new Float64Array(H * D);
  const touched = new Uint8Array(H);
  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (Tq + 1);
    const zb = bi * Z;
    for (let t = 0; t < Tq; t++) {
      const z0 = crow[cb + t];
      const z1 = crow[cb + t + 1];
      if (z0 === z1) continue;
      acc.fill(0);
      touched.fill(0);
      for (let z = z0; z < z1; z++) {
        const c = col[zb + z];
        const h = (c / Tk) | 0;
        const j = c - h * Tk;
        const p = pv[zb + z];
        const vo = ((bi * H + h) * Tk + j) * D;
        const ao = h * D;
        touched[h] = 1;
        for (let d = 0; d < D; d++) acc[ao + d] += p * vv[vo + d];
      }
      for (let h = 0; h < H; h++) {
        if (touched[h] === 0) continue;
        const oo = ((bi * H + h) * Tq + t) * D;
        for (let d = 0; d < D; d++) out[oo + d] = acc[h * D + d];
      }
    }
  }
  return b.out(out, [B, H, Tq, D], 'float32');
}
