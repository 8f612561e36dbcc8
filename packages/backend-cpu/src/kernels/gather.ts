import { sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/** Embedding lookup along axis 0: table [V, ...rest], int32 indices [...idx] → [...idx, ...rest]. */
export function gather(b: CpuBackend, table: TensorInfo, indices: TensorInfo): TensorInfo {
  const t = b.values(table);
  const idx = b.values(indices);
  const rest = table.shape.slice(1);
  const w = sizeOf(rest);
  const outShape = [...indices.shape, ...rest];
  const out = allocArray(table.dtype, idx.length * w);
  if (w === 1) {
    for (let i = 0; i < idx.length; i++) out[i] = t[idx[i]];
  } else {
    for (let i = 0; i < idx.length; i++) {
      const s = idx[i] * w;
      out.set(t.subarray(s, s + w), i * w);
    }
  }
  return b.out(out, outShape, table.dtype);
}

/**
 * take_along_axis on the last axis: out[..., m] = x[..., idx[..., m]]. Negative indices count from
 * the end (NumPy); the op layer leaves range checks to the caller.
 */
export function takeAlong(b: CpuBackend, x: TensorInfo, indices: TensorInfo): TensorInfo {
  const xv = b.values(x);
  const idx = b.values(indices);
  const n = x.shape[x.shape.length - 1];
  const m = indices.shape[indices.shape.length - 1];
  const out = allocArray(x.dtype, idx.length);
  const rows = m === 0 ? 0 : idx.length / m;
  for (let r = 0; r < rows; r++) {
    const xb = r * n;
    const ib = r * m;
    for (let j = 0; j < m; j++) {
      const k = idx[ib + j];
      out[ib + j] = xv[xb + (k < 0 ? k + n : k)];
    }
  }
  return b.out(out, indices.shape, x.dtype);
}
