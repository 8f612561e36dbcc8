import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { registerGradient, vjp } from '../tape.js';
import { attr } from './util.js';

/** Lower-triangular ones [T, T] (j ≤ t). */
export function causalOnes(t: number, like: Tensor): Tensor {
  const a = new Float64Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j <= i; j++) a[i * t + j] = 1;
  return sea.tensor(like.dtype === 'float64' ? a : Float32Array.from(a), [t, t], {
    backend: like.backend,
    dtype: like.dtype,
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
