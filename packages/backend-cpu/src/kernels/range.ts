import { type DType, isHalf, roundToDType, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/** y[i] = start + i·step in float64, stored once in `dtype` (16-bit: rounded, held as float64). */
export function range(
  b: CpuBackend,
  size: number,
  start: number,
  step: number,
  dtype: DType,
): TensorInfo & { shape: [number] } {
  const a = isHalf(dtype) ? new Float64Array(size) : allocArray(dtype, size);
  for (let i = 0; i < size; i++) {
    const v = start + i * step;
    a[i] = isHalf(dtype) ? roundToDType(v, dtype) : v;
  }
  return b.out(a, [size], dtype) as TensorInfo & { shape: [number] };
}
