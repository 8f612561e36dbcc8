import { sizeOf, type TensorInfo } from '@sea/tensor';
import { allocArray, stridesOf } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRowStrided } from './binary.js';

/** Constant padding; for bool the value is stored as value ≠ 0, for int32 truncated. */
export function pad(
  b: CpuBackend,
  x: TensorInfo,
  pads: readonly (readonly [number, number])[],
  value: number,
): TensorInfo {
  const src = b.values(x);
  const outShape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const out = allocArray(x.dtype, sizeOf(outShape));
  const v = x.dtype === 'bool' ? (value ? 1 : 0) : value;
  if (v !== 0) out.fill(v);
  const st = stridesOf(outShape);
  let base = 0;
  for (let i = 0; i < pads.length; i++) base += pads[i][0] * st[i];
  // Walk the source contiguously and scatter rows into the interior of the output.
  forEachRowStrided(x.shape, [st], [base], (si, offs, n, inner) => {
    const s = inner[0];
    let o = offs[0];
    if (s === 1) {
      out.set(src.subarray(si, si + n), o);
      return;
    }
    for (let k = 0; k < n; k++, o += s) out[o] = src[si + k];
  });
  return b.out(out, outShape, x.dtype);
}
