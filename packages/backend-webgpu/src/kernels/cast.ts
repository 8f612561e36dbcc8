/** dtype conversion: float → int32 truncates toward zero (NaN → 0); anything → bool is x ≠ 0. */
import type { DType, TensorInfo } from '@sea/tensor';
import { isFloatDType } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { elementwise } from './elementwise.js';

function expr(from: DType, to: DType): string {
  if (from === to) return 'x0';
  const fromFloat = isFloatDType(from);
  // On the bits: NaN must give true, and shader compilers may fold NaN comparisons away.
  if (to === 'bool')
    return fromFloat ? 'select(0u, 1u, (bitcast<u32>(x0) & 0x7fffffffu) != 0u)' : 'select(0u, 1u, x0 != 0i)';
  if (isFloatDType(to)) return fromFloat ? 'x0' : 'f32(x0)';
  // to int32
  if (fromFloat) return 'select(i32(trunc(x0)), 0i, x0 != x0)';
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
