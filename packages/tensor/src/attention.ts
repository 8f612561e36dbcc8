/**
 * Exact softmax attention as one op: softmax(scale·Q·Kᵀ + mask)·V. A backend with the fused
 * `attention` capability runs it in one kernel (no T×T scores in memory); every other backend gets
 * the same numbers from matmul, softmax with an additive mask, and matmul.
 */
import type { AttentionLayout, Backend } from './backend.js';
import { type DType, isFloat, isHalf } from './dtype.js';
import { isRecording, recordOp, type Tensor, tidy, wrap } from './engine.js';
import { DTypeError, ShapeError, TensorStateError } from './errors.js';
import { arange, cast, lessEqual, logicalAnd, matmul, mul, softmax, transpose, where } from './ops.js';
import { fmt } from './shape.js';

export interface AttentionOpOptions {
  /** Multiplies Q·Kᵀ; default 1/√D. */
  scale?: number;
  /** Query t sees key j only when j ≤ t (default false). */
  causal?: boolean;
  /** bool [B, Tk]: false marks a padded key, hidden from every query. */
  keyValid?: Tensor | null;
  /**
   * 'bhtd' (default): q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,E] → [B,H,Tq,E]. 'bthd': q [B,Tq,H,D],
   * k [B,Tk,H,D], v [B,Tk,H,E] → [B,Tq,H,E], the layout of a linear projection reshaped to heads,
   * read in place by a fused kernel that has it (transposed around the composition otherwise).
   */
  layout?: AttentionLayout;
}

/**
 * Additive mask of {@link attention}: 0 where key j is visible to query t, −∞ elsewhere, as
 * [1,1,Tq,Tk] (causal), [B,1,1,Tk] (keys only) or [B,1,Tq,Tk] (both), in `dtype`; null when
 * nothing is masked.
 */
export function attentionMask(
  causal: boolean,
  B: number,
  Tq: number,
  Tk: number,
  keyValid: Tensor | null | undefined,
  backend: Backend,
  dtype: DType = 'float32',
): Tensor | null {
  if (!causal && !keyValid) return null;
  return tidy(() => {
    let visible: Tensor | null = null;
    if (causal) {
      const t = arange(0, Tq, { backend }).reshape([1, 1, Tq, 1]);
      const j = arange(0, Tk, { backend }).reshape([1, 1, 1, Tk]);
      visible = lessEqual(j, t);
    }
    if (keyValid) {
      const kv = keyValid.reshape([B, 1, 1, Tk]);
      visible = visible ? logicalAnd(visible, kv) : kv;
    }
    const m = where(visible as Tensor, 0, Number.NEGATIVE_INFINITY);
    return m.dtype === dtype ? m : cast(m, dtype);
  });
}

/** The attention probabilities softmax(scale·Q·Kᵀ + mask) [B,H,Tq,Tk] (the composed path; gradients). */
export function attentionProbs(
  q: Tensor,
  k: Tensor,
  scale: number,
  causal: boolean,
  keyValid?: Tensor | null,
): Tensor {
  return tidy(() => {
    const [B, , Tq] = q.shape;
    const mask = attentionMask(causal, B, Tq, k.shape[2], keyValid, q.backend, q.dtype);
    const qk = matmul(q, k, { transB: true });
    // ×1 is exact (OPT pre-scales q): skip the pass over the T×T scores
    const scores = scale === 1 ? qk : mul(qk, scale);
    return softmax(scores, mask);
  });
}

/**
 * q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,E] → [B,H,Tq,E]: softmax(scale·Q·Kᵀ + mask)·V, where the
 * mask hides key j from query t when keyValid[b,j] is false or (causal) j > t. A query with no
 * visible key gives zeros. With `layout: 'bthd'` the heads axis comes after the time axis, in the
 * inputs and in the output.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOpOptions = {}): Tensor {
  const keyValid = opts.keyValid ?? null;
  for (const [t, what] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
  ] as const) {
    t.assertLive(`attention ${what}`);
    if (!isFloat(t.dtype)) throw new DTypeError(`attention: ${what} must be a float dtype, got ${t.dtype}`);
    if (t.rank !== 4)
      throw new ShapeError(`attention: expected ${what} of rank 4 [B,H,T,D], got ${fmt(t.shape)}`);
  }
  if (k.backend !== q.backend || v.backend !== q.backend || (keyValid && keyValid.backend !== q.backend))
    throw new TensorStateError('attention: inputs live on different backends');
  if (k.dtype !== q.dtype || v.dtype !== q.dtype)
    throw new DTypeError(`attention: q, k, v must share a dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`);
  const layout = opts.layout ?? 'bhtd';
  if (layout !== 'bhtd' && layout !== 'bthd')
    throw new TypeError(`attention: layout must be 'bhtd' or 'bthd', got ${String(layout)}`);
  const bthd = layout === 'bthd';
  const [B, H, , D] = bthd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape;
  const Tk = k.shape[bthd ? 1 : 2];
  const kWant = bthd ? [B, Tk, H, D] : [B, H, Tk, D];
  if (k.shape.some((d, i) => d !== kWant[i]))
    throw new ShapeError(
      `attention: expected k of shape ${bthd ? `[${B},Tk,${H},${D}]` : `[${B},${H},Tk,${D}]`}, got ${fmt(k.shape)}`,
    );
  if (v.shape[0] !== B || v.shape[1] !== (bthd ? Tk : H) || v.shape[2] !== (bthd ? H : Tk))
    throw new ShapeError(
      `attention: expected v of shape ${bthd ? `[${B},${Tk},${H},E]` : `[${B},${H},${Tk},E]`}, got ${fmt(v.shape)}`,
    );
  if (keyValid) {
    keyValid.assertLive('attention keyValid');
    if (
      keyValid.dtype !== 'bool' ||
      keyValid.rank !== 2 ||
      keyValid.shape[0] !== B ||
      keyValid.shape[1] !== Tk
    )
      throw new ShapeError(
        `attention: expected keyValid bool [${B},${Tk}], got ${keyValid.dtype} ${fmt(keyValid.shape)}`,
      );
  }
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!(Number.isFinite(scale) && scale > 0))
    throw new RangeError(`attention: scale must be a positive finite number, got ${scale}`);
  const causal = opts.causal ?? false;
  const backend = q.backend;
  // the recorded fused op is differentiated in the [B,H,T,D] layout only
  const fused =
    bthd && isRecording()
      ? null
      : (backend.attention?.(q, k, v, keyValid, { scale, causal, layout }) ?? null);
  if (fused) return recordOp('attention', [q, k, v, keyValid], wrap(backend, fused), { scale, causal });
  if (isHalf(q.dtype) && !isRecording()) {
    // 16-bit inputs without a fused kernel: composed in float32 (16-bit scores would cost the softmax
    // most of its precision) and rounded once, as a fused kernel does
    const dt = q.dtype;
    return tidy(() => {
      const up = (t: Tensor) => cast(t, 'float32');
      return cast(attention(up(q), up(k), up(v), { scale, causal, keyValid, layout }), dt);
    });
  }
  if (bthd) {
    return tidy(() => {
      const heads = (t: Tensor) => transpose(t, [0, 2, 1, 3]);
      const o = attention(heads(q), heads(k), heads(v), { scale, causal, keyValid });
      return transpose(o, [0, 2, 1, 3]);
    });
  }
  return tidy(() => matmul(attentionProbs(q, k, scale, causal, keyValid), v));
}
