import { DeviceError, type Shape } from '@sea/tensor';
import { MAXR } from '../params.js';

/**
 * Merges adjacent axes that every operand walks as one (stride[i] = stride[i+1]·shape[i+1]) and drops
 * size-1 axes, so common cases become one long axis; the kernels' index space holds at most 8 axes.
 */
export function coalesce(shape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
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
  if (outShape.length > MAXR) {
    throw new DeviceError(
      `the cuda backend indexes at most ${MAXR} non-mergeable axes, got shape [${shape.join(',')}]`,
    );
  }
  return { shape: outShape, strides: outStrides };
}
