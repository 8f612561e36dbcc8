import type { Shape, TensorInfo, TypedArray } from '@sea/tensor';
import { stridesOf } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { forEachRowStrided } from './binary.js';

/** Copies `src` (contiguous, `shape`) permuted by `perm` into a new array of the same type. */
export function permuteArray(src: TypedArray, shape: Shape, perm: readonly number[]): TypedArray {
  const out = new (src.constructor as new (n: number) => TypedArray)(src.length);
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const inStrides = perm.map((p) => st[p]);
  const rank = outShape.length;
  // A swap of the last two axes reads columns; do it in cache tiles.
  if (rank >= 2 && inStrides[rank - 1] !== 1 && inStrides[rank - 2] === 1 && outShape[rank - 1] > 1) {
    const rows = outShape[rank - 2];
    const cols = outShape[rank - 1];
    const cs = inStrides[rank - 1];
    const tile = (ib: number, ob: number): void => {
      for (let r0 = 0; r0 < rows; r0 += 32) {
        const r1 = Math.min(rows, r0 + 32);
        for (let c0 = 0; c0 < cols; c0 += 32) {
          const c1 = Math.min(cols, c0 + 32);
          for (let r = r0; r < r1; r++) {
            for (let c = c0; c < c1; c++) out[ob + r * cols + c] = src[ib + r + c * cs];
          }
        }
      }
    };
    forEachRowStrided(outShape.slice(0, -2), [inStrides.slice(0, -2)], [0], (oi, offs, n, inner) => {
      for (let k = 0; k < n; k++) tile(offs[0] + k * inner[0], (oi + k) * rows * cols);
    });
    return out;
  }
  forEachRowStrided(outShape, [inStrides], [0], (oo, offs, n, inner) => {
    const s = inner[0];
    let i = offs[0];
    if (s === 1) {
      out.set(src.subarray(i, i + n), oo);
      return;
    }
    for (let k = 0; k < n; k++, i += s) out[oo + k] = src[i];
  });
  return out;
}

export function transpose(b: CpuBackend, x: TensorInfo, perm: readonly number[]): TensorInfo {
  const out = permuteArray(b.values(x), x.shape, perm);
  return b.out(
    out,
    perm.map((p) => x.shape[p]),
    x.dtype,
  );
}
