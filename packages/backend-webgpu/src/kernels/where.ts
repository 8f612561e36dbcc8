/** where(cond, a, b) with broadcasting of all three to the output shape. */
import type { TensorInfo } from '@sea/tensor';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { elementwise } from './elementwise.js';

export function where(
  b: WebGpuBackend,
  cond: TensorInfo,
  x: TensorInfo,
  y: TensorInfo,
  outShape: readonly number[],
): TensorInfo {
  const out = elementwise(
    b,
    'where',
    [cond, x, y].map((t) => ({ data: b.data(t), shape: t.shape })),
    outShape,
    x.dtype,
    'select(x2, x1, x0 != 0u)',
    '',
    true,
  );
  return b.out(out, outShape, x.dtype);
}
