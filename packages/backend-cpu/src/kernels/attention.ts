import type { TensorInfo } from '@sea/tensor';
import { type AttentionOptions, allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * Fused attention, one query row at a time: scores, max, exp and the weighted sum of V rows in
 * double, only the row's Tk scores in memory. Key j is skipped when masked (keyValid false, or j > t
 * when causal); a row with no visible key stays zero. Declines (null: the op layer composes) below
 * the backend's `fusedAttentionMinScores`, where the blocked matmuls of the composition are faster.
 */
export function attention(
  b: CpuBackend,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  keyValid: TensorInfo | null,
  opts: AttentionOptions,
): TensorInfo | null {
  // element offset of (b, h, t) in [B,H,T,·] or, with layout 'bthd', [B,T,H,·]
  const bthd = opts.layout === 'bthd';
  const [B, H, Tq, D] = bthd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape;
  const Tk = k.shape[bthd ? 1 : 2];
  const E = v.shape[3];
  if (B * H * Tq * Tk < b.fusedAttentionMinScores) return null;
  const at = (b: number, h: number, t: number, T: number, n: number): number =>
    (bthd ? (b * T + t) * H + h : (b * H + h) * T + t) * n;
  const qv = b.values(q);
  const kv = b.values(k);
  const vv = b.values(v);
  const valid = keyValid ? b.values(keyValid) : null;
  const out = allocArray(q.dtype, B * H * Tq * E);
  const s = new Float64Array(Tk);
  const acc = new Float64Array(E);
  for (let bh = 0; bh < B * H; bh++) {
    const bi = Math.floor(bh / H);
    const hi = bh % H;
    for (let t = 0; t < Tq; t++) {
      const qo = at(bi, hi, t, Tq, D);
      const last = opts.causal ? Math.min(Tk - 1, t) : Tk - 1;
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j <= last; j++) {
        if (valid && !valid[bi * Tk + j]) {
          s[j] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let dot = 0;
        const ko = at(bi, hi, j, Tk, D);
        for (let d = 0; d < D; d++) dot += qv[qo + d] * kv[ko + d];
        s[j] = dot * opts.scale;
        if (s[j] > max) max = s[j];
      }
      if (max === Number.NEGATIVE_INFINITY) continue; // nothing visible: zeros
      acc.fill(0);
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        if (s[j] === Number.NEGATIVE_INFINITY) continue;
        const p = Math.exp(s[j] - max);
        sum += p;
        const vo = at(bi, hi, j, Tk, E);
        for (let e = 0; e < E; e++) acc[e] += p * vv[vo + e];
      }
      const oo = at(bi, hi, t, Tq, E);
      for (let e = 0; e < E; e++) out[oo + e] = acc[e] / sum;
    }
  }
  return b.out(out, bthd ? [B, Tq, H, E] : [B, H, Tq, E], q.dtype);
}
