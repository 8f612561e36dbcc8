import type { TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * The causal C_avg and the s_mix blend, heads merged (docs/algorithm.md §7.5–§7.6): per (b, h), walk
 * t = 0..T−1 carrying Σ_{j≤t} v_j in float64 and write
 * out[b, t, h·E + e] = s·local + (1 − s)·sum/(t + 1), s = sMix[b,h,t].
 */
export function runningMeanMix(
  b: CpuBackend,
  local: TensorInfo,
  v: TensorInfo,
  sMix: TensorInfo,
): TensorInfo {
  const [B, H, T, E] = local.shape;
  const lo = b.values(local);
  const vv = b.values(v);
  const sm = b.values(sMix);
  const out = allocArray(local.dtype, B * T * H * E);
  const acc = new Float64Array(E);
  for (let bb = 0; bb < B; bb++) {
    for (let h = 0; h < H; h++) {
      acc.fill(0);
      const bh = bb * H + h;
      for (let t = 0; t < T; t++) {
        const s = sm[bh * T + t];
        const row = (bh * T + t) * E;
        const o = (bb * T + t) * H * E + h * E;
        for (let e = 0; e < E; e++) {
          acc[e] += vv[row + e];
          out[o + e] = s * lo[row + e] + (1 - s) * (acc[e] / (t + 1));
        }
      }
    }
  }
  return b.out(out, [B, T, H * E], local.dtype);
}
