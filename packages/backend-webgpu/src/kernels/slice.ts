/** Contiguous copy of the box [begin, begin+size) of x. */
import type { TensorInfo } from '@sea/tensor';
import { stridesOf } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { stridedCopy } from './transpose.js';

export function slice(
  b: WebGpuBackend,
  x: TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): TensorInfo {
  const st = stridesOf(x.shape);
  const base = begin.reduce((a, v, k) => a + v * st[k], 0);
  return stridedCopy(b, 'slice', x, size, st, base);
}
