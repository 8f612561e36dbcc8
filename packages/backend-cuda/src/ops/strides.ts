import { DeviceError, type Shape } from '@sea/tensor';
import { coalesce as coalesceAxes } from '@sea/tensor/backend';
import { MAXR } from '../params.js';

/**
 * `coalesce` (@sea/tensor/backend: merges the axes every operand walks as one, drops size-1 axes)
 * within the kernels' index space of at most MAXR axes.
 */
export function coalesce(shape: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const plan = coalesceAxes(shape, strides);
  if (plan.shape.length > MAXR) {
    throw new DeviceError(
      `the cuda backend indexes at most ${MAXR} non-mergeable axes, got shape [${shape.join(',')}]`,
    );
  }
  return plan;
}
