import type { CsrInfo, TensorInfo } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * Per-row, per-head softmax of CSR values val [B,Z]: the entries of head h in row t are
 * normalized among themselves (max-subtracted, sums in double), then multiplied by
 * rowScale[b,h,t] when given. Heads need not be contiguous within a row; per-row state is
 * H maxima and H sums, reused across rows. Tails past nnz_b stay 0.
 */
export function csrSoftmax(
  b: CpuBackend,
  csr: CsrInfo,
  val: TensorInfo,
  rowScale: TensorInfo | null,
): TensorInfo {
  const crow = b.values(csr.crow);
  const col = b.values(csr.col);
  const v = b.values(val);
  const sc = rowScale ? b.values(rowScale) : null;
  const B = csr.crow.shape[0];
  const Tq = csr.crow.shape[1] - 1;
  const H = csr.heads;
  const Tk = csr.keys;
  const Z = csr.col.shape[1];
  const out = new Float32Array(B * Z);
  const mx = new Float64Array(H);
  const sum = new Float64Array(H);
  let maxRow = 0;
  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (Tq + 1);
    for (let t = 0; t < Tq; t++) maxRow = Math.max(maxRow, crow[cb + t + 1] - crow[cb + t]);
  }
  const e = new Float64Array(maxRow);
  const hs = new Int32Array(maxRow);
  for (let bi = 0; bi < B; bi++) {
    const cb = bi * (Tq + 1);
    const zb = bi * Z;
    for (let t = 0; t < Tq; t++) {
      const z0 = crow[cb + t];
      const n = crow[cb + t + 1] - z0;
      if (n === 0) continue;
      mx.fill(Number.NEGATIVE_INFINITY);
      sum.fill(0);
      for (let i = 0; i < n; i++) {
        const h = (col[zb + z0 + i] / Tk) | 0;
        hs[i] = h;
        const x = v[zb + z0 + i];
        if (x > mx[h]) mx[h] = x;
      }
      for (let i = 0; i < n; i++) {
        const h = hs[i];
        const x = Math.exp(v[zb + z0 + i] - mx[h]);
        e[i] = x;
        sum[h] += x;
      }
      for (let h = 0; h < H; h++) {
        const s = sc ? sc[(bi * H + h) * Tq + t] : 1;
        sum[h] = sum[h] > 0 ? s / sum[h] : 0;
      }
      for (let i = 0; i < n; i++) out[zb + z0 + i] = e[i] * sum[hs[i]];
    }
  }
  return b.out(out, [B, Z], 'float32');
}
