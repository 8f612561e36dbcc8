import type { TensorInfo } from '@sea/tensor';
import type { PrefixSumOptions } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * Causal linear attention by prefix sums (spec §3): per (b, h), walk t = 0..T−1 carrying
 * S = Σ_{j≤t} φk_j v_jᵀ (M×E) and z = Σ_{j≤t} φk_j in float64, and write
 * out_t = φq_t·S / (φq_t·(z + eps)). float32 in and out.
 */
export function performerPrefixSum(
  b: CpuBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
): TensorInfo {
  const [B, H, T, M] = qf.shape;
  const E = v.shape[3];
  const q = b.values(qf);
  const k = b.values(kf);
  const vv = b.values(v);
  const out = new Float32Array(B * H * T * E);
  const S = new Float64Array(M * E);
  const z = new Float64Array(M);
  const num = new Float64Array(E);
  const eps = opts.eps;
  for (let bh = 0; bh < B * H; bh++) {
    S.fill(0);
    z.fill(0);
    for (let t = 0; t < T; t++) {
      const fo = (bh * T + t) * M;
      const vo = (bh * T + t) * E;
      for (let m = 0; m < M; m++) {
        const km = k[fo + m];
        z[m] += km;
        const row = m * E;
        for (let e = 0; e < E; e++) S[row + e] += km * vv[vo + e];
      }
      num.fill(0);
      let den = 0;
      for (let m = 0; m < M; m++) {
        const qm = q[fo + m];
        den += qm * (z[m] + eps);
        const row = m * E;
        for (let e = 0; e < E; e++) num[e] += qm * S[row + e];
      }
      for (let e = 0; e < E; e++) out[vo + e] = num[e] / den;
    }
  }
  return b.out(out, [B, H, T, E], 'float32');
}
