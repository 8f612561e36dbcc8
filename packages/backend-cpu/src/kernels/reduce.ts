import { type ReduceOp, sizeOf, type TensorInfo, type TypedArray } from '@sea/tensor';
import { allocArray, reducePlan } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { permuteArray } from './transpose.js';

/**
 * Reduces `outer × len × inner` (the reduced axes merged into the middle) into `outer × inner`.
 * Sums and products accumulate in double. max/min propagate NaN and argmax/argmin treat NaN as the
 * extreme (PyTorch); argmax/argmin keep the first index on ties.
 */
function reduce3(
  op: ReduceOp,
  src: TypedArray,
  outer: number,
  len: number,
  inner: number,
  out: TypedArray,
): void {
  const acc = new Float64Array(inner);
  const arg = new Int32Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    switch (op) {
      case 'sum':
      case 'mean':
        acc.fill(0);
        for (let r = 0; r < len; r++) {
          const row = base + r * inner;
          for (let i = 0; i < inner; i++) acc[i] += src[row + i];
        }
        if (op === 'mean') for (let i = 0; i < inner; i++) acc[i] /= len;
        break;
      case 'prod':
        acc.fill(1);
        for (let r = 0; r < len; r++) {
          const row = base + r * inner;
          for (let i = 0; i < inner; i++) acc[i] *= src[row + i];
        }
        break;
      case 'max':
      case 'argmax':
        for (let i = 0; i < inner; i++) acc[i] = src[base + i];
        arg.fill(0);
        for (let r = 1; r < len; r++) {
          const row = base + r * inner;
          for (let i = 0; i < inner; i++) {
            const v = src[row + i];
            const a = acc[i];
            if (v > a || (Number.isNaN(v) && !Number.isNaN(a))) {
              acc[i] = v;
              arg[i] = r;
            }
          }
        }
        break;
      case 'min':
      case 'argmin':
        for (let i = 0; i < inner; i++) acc[i] = src[base + i];
        arg.fill(0);
        for (let r = 1; r < len; r++) {
          const row = base + r * inner;
          for (let i = 0; i < inner; i++) {
            const v = src[row + i];
            const a = acc[i];
            if (v < a || (Number.isNaN(v) && !Number.isNaN(a))) {
              acc[i] = v;
              arg[i] = r;
            }
          }
        }
        break;
    }
    const ob = o * inner;
    if (op === 'argmax' || op === 'argmin') out.set(arg, ob);
    else for (let i = 0; i < inner; i++) out[ob + i] = acc[i];
  }
}

export function reduce(b: CpuBackend, op: ReduceOp, x: TensorInfo, axes: readonly number[]): TensorInfo {
  const plan = reducePlan(x.shape, axes);
  const outDtype = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  const out = allocArray(outDtype, sizeOf(plan.outShape));
  // reduced axes in one contiguous run reduce in place; others move last first (one copy)
  const src = plan.permutation ? permuteArray(b.values(x), x.shape, plan.permutation) : b.values(x);
  if (plan.len === 0) out.fill(op === 'prod' ? 1 : op === 'mean' ? Number.NaN : 0);
  else reduce3(op, src, plan.outer, plan.len, plan.inner, out);
  return b.out(out, plan.outShape, outDtype);
}
