import type { LayerNormActivation, TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { gelu } from './unary.js';

/**
 * LayerNorm over the last axis with biased variance. Mean and variance are taken in double over the
 * row while it is in cache (two short passes: the centred variance avoids E[x²]−E[x]² cancellation).
 */
export function layerNorm(
  b: CpuBackend,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  eps: number,
  activation: LayerNormActivation = 'none',
): TensorInfo {
  const src = b.values(x);
  const g = b.values(gamma);
  const be = b.values(beta);
  const out = allocArray(x.dtype, src.length);
  const n = x.shape[x.shape.length - 1] ?? 1;
  if (src.length === 0 || n === 0) return b.out(out, x.shape, x.dtype);
  const rows = src.length / n;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += src[base + i];
    const mean = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = src[base + i] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / n + eps);
    if (activation === 'gelu') {
      for (let i = 0; i < n; i++) out[base + i] = gelu((src[base + i] - mean) * rstd * g[i] + be[i]);
    } else {
      for (let i = 0; i < n; i++) out[base + i] = (src[base + i] - mean) * rstd * g[i] + be[i];
    }
  }
  return b.out(out, x.shape, x.dtype);
}
