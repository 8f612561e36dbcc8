/**
 * Shape planning every backend shares below the op layer: merging the axes of a broadcast
 * iteration, and the geometry of a reduction. Pure functions of shapes; no backend memory.
 */
import { type Shape, sizeOf } from './shape.js';

/**
 * Merges adjacent axes that every operand walks as one (stride[i] = stride[i+1]·shape[i+1]) and drops
 * size-1 axes, so the common cases (same shapes, a row vector, a scalar) become one long axis with a
 * constant stride per operand. `strides[k]` are operand k's strides over `shape` (0 on broadcast
 * axes). At least one axis is returned ([1] with stride 0 for a scalar).
 */
export function coalesce(
  shape: Shape,
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  // plain loops: this runs for every strided kernel launch
  const m = strides.length;
  const outShape: number[] = [];
  const outStrides: number[][] = [];
  for (let k = 0; k < m; k++) outStrides.push([]);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (d === 1) continue;
    const last = outShape.length - 1;
    let merge = last >= 0;
    for (let k = 0; merge && k < m; k++) merge = outStrides[k][last] === strides[k][i] * d;
    if (merge) {
      outShape[last] *= d;
      for (let k = 0; k < m; k++) outStrides[k][last] = strides[k][i];
    } else {
      outShape.push(d);
      for (let k = 0; k < m; k++) outStrides[k].push(strides[k][i]);
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    for (const s of outStrides) s.push(0);
  }
  return { shape: outShape, strides: outStrides };
}

/** How a reduction over `axes` (sorted, distinct, normalised) of `shape` runs. */
export interface ReducePlan {
  /** The kept axes' sizes. */
  outShape: number[];
  /** Elements reduced into each output (the product of the reduced sizes; 0 for an empty axis). */
  len: number;
  /** The input as outer × len × inner: the output is outer × inner. */
  outer: number;
  inner: number;
  /**
   * Null when the reduced axes form one contiguous run (the input is read in place); else the
   * permutation (kept axes, then reduced ones) to apply first, after which inner is 1.
   */
  permutation: number[] | null;
}

/** The outer × len × inner geometry of reducing `shape` over `axes`. */
export function reducePlan(shape: Shape, axes: readonly number[]): ReducePlan {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const len = sizeOf(axes.map((a) => shape[a]));
  if (axes.length === 0) return { outShape, len, outer: sizeOf(shape), inner: 1, permutation: null };
  if (axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)) {
    const outer = sizeOf(shape.slice(0, axes[0]));
    const inner = sizeOf(shape.slice(axes[axes.length - 1] + 1));
    return { outShape, len, outer, inner, permutation: null };
  }
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return { outShape, len, outer: sizeOf(outShape), inner: 1, permutation: [...kept, ...axes] };
}
