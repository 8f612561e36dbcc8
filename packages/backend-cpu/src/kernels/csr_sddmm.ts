import type { CsrInfo, TensorInfo } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * CSR SDDMM: val[b,z] = scale · q[b,h,t]·k[b,h,j] for entry z of row t, column c = h·Tk + j.
 * q [B,H,Tq,D], k [B,H,Tk,D] → float32 [B,Z]; tails past nnz_b stay 0. O(nnz·D).
 */
export function csrSddmm(
  b: CpuBackend,
  csr: CsrInfo,
  q: TensorInfo,
  k: TensorInfo,
  scale: number,
): TensorInfo {
  const crow = b.values(csr.crow);
  const col = b.values(csr.col);
  const qv = b.values(q);
  const kv = b.values(k);
  const [B, H, Tq, D] = q.shape;
  const Tk = csr.keys;
  const Z = csr.col.shape[1];
  const out = new Float32Array(B * Z);
  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (Tq + 1);
    const zb = bi * Z;
    for (let t = 0; t < Tq; t++) {
      const z1 = crow[cb + t + 1];
      for (let z = crow[cb + t]; z < z1; z++) {
        const c = col[zb + z];
        const h = (c / Tk) | 0;
        const j = c - h * Tk;
        const qo = ((bi * H + h) * Tq + t) * D;
        const ko = ((bi * H + h) * Tk + j) * D;
        // four independent chains hide the add latency
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let d = 0;
        for (; d + 3 < D; d += 4) {
          a0 += qv[qo + d] * kv[ko + d];
          a1 += qv[qo + d + 1] * kv[ko + d + 1];
          a2 += qv[qo + d + 2] * kv[ko + d + 2];
          a3 += qv[qo + d + 3] * kv[ko + d + 3];
        }
        for (; d < D; d++) a0 += qv[qo + d] * kv[ko + d];
        out[zb + z] = (a0 + a1 + (a2 + a3)) * scale;
      }
    }
  }
  return b.out(out, [B, Z], 'float32');
}
