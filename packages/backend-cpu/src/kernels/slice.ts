import { sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray, stridesOf } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRowStrided } from './binary.js';

export function slice(
  b: CpuBackend,
  x: TensorInfo,
  begin: readonly number[],
  size: readonly number[],
): TensorInfo {
  const src = b.values(x);
  const out = allocArray(x.dtype, sizeOf(size));
  const st = stridesOf(x.shape);
  let base = 0;
  for (let i = 0; i < begin.length; i++) base += begin[i] * st[i];
  forEachRowStrided(size, [st], [base], (oo, offs, n, inner) => {
    const s = inner[0];
    let i = offs[0];
    if (s === 1) {
      out.set(src.subarray(i, i + n), oo);
      return;
    }
    for (let k = 0; k < n; k++, i += s) out[oo + k] = src[i];
  });
  return b.out(out, size, x.dtype);
}
