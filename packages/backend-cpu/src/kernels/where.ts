import { type Shape, sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRow } from './binary.js';

export function where(
  b: CpuBackend,
  cond: TensorInfo,
  a: TensorInfo,
  bt: TensorInfo,
  outShape: Shape,
): TensorInfo {
  const out = allocArray(a.dtype, sizeOf(outShape));
  const cv = b.values(cond);
  const av = b.values(a);
  const bv = b.values(bt);
  forEachRow(outShape, [cond.shape, a.shape, bt.shape], (oo, offs, n, inner) => {
    const [sc, sa, sb] = inner;
    let c = offs[0];
    let ia = offs[1];
    let ib = offs[2];
    for (let i = 0; i < n; i++) {
      out[oo + i] = cv[c] ? av[ia] : bv[ib];
      c += sc;
      ia += sa;
      ib += sb;
    }
  });
  return b.out(out, outShape, a.dtype);
}
