import { sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

export function concat(b: CpuBackend, xs: readonly TensorInfo[], axis: number): TensorInfo {
  const first = xs[0];
  const outShape = [...first.shape];
  outShape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
  const out = allocArray(first.dtype, sizeOf(outShape));
  const outer = sizeOf(first.shape.slice(0, axis));
  const outInner = sizeOf(outShape.slice(axis));
  let at = 0;
  for (const t of xs) {
    const src = b.values(t);
    const inner = sizeOf(t.shape.slice(axis));
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * inner, (o + 1) * inner), o * outInner + at);
    at += inner;
  }
  return b.out(out, outShape, first.dtype);
}
