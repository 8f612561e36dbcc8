import type { TensorInfo } from '@sea/tensor';
import { allocArray, broadcastStrides } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRowStrided } from './binary.js';

/**
 * Numerically stable softmax over the last axis with an additive mask broadcast to x. The row max is
 * subtracted before exp and the sum is kept in double; a row whose every entry is −∞ gives zeros.
 */
export function softmax(b: CpuBackend, x: TensorInfo, mask: TensorInfo | null): TensorInfo {
  const src = b.values(x);
  const out = allocArray(x.dtype, src.length);
  const n = x.shape[x.shape.length - 1] ?? 1;
  if (src.length === 0 || n === 0) return b.out(out, x.shape, x.dtype);
  const rows = src.length / n;
  const e = new Float64Array(n);
  const m = mask ? b.values(mask) : null;
  // Mask offset of each row: walk the leading axes with the mask's broadcast strides.
  const lead = x.shape.slice(0, -1);
  const ms = mask ? broadcastStrides(mask.shape, x.shape) : [];
  const mInner = mask ? ms[ms.length - 1] : 0;
  const mOffsets = new Int32Array(rows);
  if (mask && lead.length > 0) {
    forEachRowStrided(lead, [ms.slice(0, -1)], [0], (ri, offs, cnt, inner) => {
      for (let k = 0; k < cnt; k++) mOffsets[ri + k] = offs[0] + k * inner[0];
    });
  }
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let max = Number.NEGATIVE_INFINITY;
    if (m) {
      let mo = mOffsets[r];
      for (let i = 0; i < n; i++, mo += mInner) {
        const v = src[base + i] + m[mo];
        e[i] = v;
        if (v > max) max = v;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = src[base + i];
        e[i] = v;
        if (v > max) max = v;
      }
    }
    if (max === Number.NEGATIVE_INFINITY) continue; // all masked: zeros
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = Math.exp(e[i] - max);
      e[i] = v;
      sum += v;
    }
    const inv = 1 / sum;
    for (let i = 0; i < n; i++) out[base + i] = e[i] * inv;
  }
  return b.out(out, x.shape, x.dtype);
}

/** x − max − log Σ exp(x − max) over the last axis (an all −∞ row gives NaN, as in PyTorch). */
export function logSoftmax(b: CpuBackend, x: TensorInfo): TensorInfo {
  const src = b.values(x);
  const out = allocArray(x.dtype, src.length);
  const n = x.shape[x.shape.length - 1] ?? 1;
  if (src.length === 0 || n === 0) return b.out(out, x.shape, x.dtype);
  const rows = src.length / n;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) if (src[base + i] > max) max = src[base + i];
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(src[base + i] - max);
    const shift = max + Math.log(sum);
    for (let i = 0; i < n; i++) out[base + i] = src[base + i] - shift;
  }
  return b.out(out, x.shape, x.dtype);
}
