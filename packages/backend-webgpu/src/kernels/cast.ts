/** dtype conversion: float → int32 truncates toward zero (NaN → 0); anything → bool is x ≠ 0. */
import type { DType, TensorInfo } from '@sea/tensor';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { elementwise } from './elementwise.js';

function expr(from: DType, to: DType): string {
  if (from === to) return 'x0';
  // On the bits: NaN must give true, and shader compilers may fold NaN comparisons away.
  if (to === 'bool')
    return from === 'float32'
      ? 'select(0u, 1u, (bitcast<u32>(x0) & 0x7fffffffu) != 0u)'
      : 'select(0u, 1u, x0 != 0i)';
  if (to === 'float32') return 'f32(x0)';
  // to int32
  if (from === 'float32') return 'select(i32(trunc(x0)), 0i, x0 != x0)';
  return 'i32(x0)';
}

export function cast(b: WebGpuBackend, x: TensorInfo, dtype: DType): TensorInfo {
  const out = elementwise(
    b,
    'cast',
    [{ data: b.data(x), shape: x.shape }],
    x.shape,
    dtype,
    expr(x.dtype, dtype),
  );
  return b.out(out, x.shape, dtype);
}
