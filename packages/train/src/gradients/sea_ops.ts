import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { registerGradient, vjp } from '../tape.js';
import { attr } from './util.js';

/** Lower-triangular ones [T, T] (j ≤ t), made on the device (no T² host array to upload). */
export function causalOnes(t: number, like: Tensor): Tensor {
  return sea.tidy(() => {
    const i = sea.arange(0, t, { backend: like.backend }).reshape([t, 1]);
    const j = sea.arange(0, t, { backend: like.backend }).reshape([1, t]);
    return sea.cast(sea.lessEqual(j, i), like.dtype);
  });
}

/**
 * The causal Performer prefix sum (the `performerPrefixSum` contract) written with dense ops:
 * out_t = Σ_{j≤t} (φq_t·φk_j) v_j / (Σ_{j≤t} φq_t·φk_j + eps·Σ_m φq_tm). O(T²) memory; used for its
 * gradient (the adjoint of the prefix sums) and as a float64 reference.
 */
export function performerPrefixSumDense(qf: Tensor, kf: Tensor, v: Tensor, eps: number): Tensor {
  const scores = sea.mul(sea.matmul(qf, kf, { transB: true }), causalOnes(qf.shape[2], qf));
  const num = sea.matmul(scores, v);
  const den = sea.add(sea.sum(scores, -1, true), sea.mul(sea.sum(qf, -1, true), eps));
  return sea.div(num, den);
}

export function registerSeaGradients(): void {
  registerGradient('performerPrefixSum', (dy, { inputs: [qf, kf, v], attrs }) => {
    const eps = attr<number>(attrs, 'eps');
    return vjp((a, b, c) => performerPrefixSumDense(a, b, c, eps), [qf!, kf!, v!], dy);
  });
  // groupedTopK (bool) and stretchToCsr (int32) produce no float output: nothing flows through them.
}
