import type { DType, TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * float → int32 truncates toward zero (the Int32Array store does ToInt32: NaN → 0, out of range
 * wraps); anything → bool is x ≠ 0, so NaN → true (PyTorch `.bool()`).
 */
export function cast(b: CpuBackend, x: TensorInfo, dtype: DType): TensorInfo {
  const src = b.values(x);
  const n = src.length;
  const out = allocArray(dtype, n);
  if (dtype === 'bool') {
    for (let i = 0; i < n; i++) out[i] = src[i] !== 0 ? 1 : 0;
  } else if (dtype === 'int32' && (x.dtype === 'float32' || x.dtype === 'float64')) {
    for (let i = 0; i < n; i++) out[i] = Math.trunc(src[i]);
  } else {
    out.set(src);
  }
  return b.out(out, x.shape, dtype);
}
