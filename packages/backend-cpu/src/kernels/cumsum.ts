import { sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

/** Prefix sums along `axis`, accumulated in double; exclusive starts at 0; reverse runs from the end. */
export function cumsum(
  b: CpuBackend,
  x: TensorInfo,
  axis: number,
  exclusive: boolean,
  reverse: boolean,
): TensorInfo {
  const src = b.values(x);
  const out = allocArray(x.dtype, src.length);
  const len = x.shape[axis];
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * len * inner;
    for (let s = 0; s < len; s++) {
      const r = reverse ? len - 1 - s : s;
      const row = base + r * inner;
      if (exclusive) {
        for (let i = 0; i < inner; i++) {
          const v = src[row + i];
          out[row + i] = acc[i];
          acc[i] += v;
        }
      } else {
        for (let i = 0; i < inner; i++) {
          acc[i] += src[row + i];
          out[row + i] = acc[i];
        }
      }
    }
  }
  return b.out(out, x.shape, x.dtype);
}
