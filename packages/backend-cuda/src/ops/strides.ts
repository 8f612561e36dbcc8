import { DeviceError, type Shape } from '@sea/tensor';
import { MAXR } from '../params.js';

/**
 * Merges adjacent axes that every operand walks as one (stride[i] = stride[i+1]·shape[i+1]) and drops
 * size-1 axes, so common cases become one long axis; the kernels' index space holds at most 8 axes.
 */
export function coalesce(shape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * shape[i])) {
      outShape[last] *= shape[i];
      strides.forEach((s, k) => {
        outStrides[k][last] = s[i];
      });
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, k) => {
        outStrides[k].push(s[i]);
      });
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
