import type { Shape, Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';

/** Sums a broadcast gradient back to `shape` (NumPy broadcasting in reverse). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sea.shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length > 0 ? sea.sum(g, axes) : g;
  return s.reshape(shape);
}

/** Broadcasts `x` to `shape`. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (sea.shapesEqual(x.shape, shape)) return x;
  return sea.add(x, sea.zeros(shape, { backend: x.backend, dtype: x.dtype }));
}

/** x's shape with `axes` set to 1 (keepDims). */
export function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function zerosLike(x: Tensor): Tensor {
  return sea.zeros(x.shape, { backend: x.backend, dtype: x.dtype });
}

/** 1.0 where `cond` (bool) holds, else 0, in `like`'s float dtype. */
export function asFloat(cond: Tensor, like: Tensor): Tensor {
  return sea.cast(cond, like.dtype);
}

export function attr<T>(attrs: Readonly<Record<string, unknown>>, key: string): T {
  return attrs[key] as T;
}
