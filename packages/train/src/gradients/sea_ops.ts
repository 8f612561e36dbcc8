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

/** floor(n / d) of float32 integers below 2^24, d > 0, exact on any backend (see @sea/mask's stretch). */
function floorDivExact(n: Tensor, d: Tensor | number): Tensor {
  const q = sea.floor(sea.div(n, d));
  const over = sea.cast(sea.greater(sea.mul(q, d), n), 'float32');
  const under = sea.cast(sea.lessEqual(sea.mul(sea.add(q, 1), d), n), 'float32');
  return sea.add(sea.sub(q, over), under);
}

/**
 * The first key of each cell c = 0…K of a stretched row of L keys (docs/algorithm.md §6: cell(j) =
 * ⌊((2j+1)K − 1)/(2L)⌋, so cell(j) ≥ c ⇔ j ≥ (2Lc + 1 − K)/(2K)): s_c = clamp(⌈(2Lc+1−K)/(2K)⌉, 0, L),
 * s_K = L; cell c holds keys [s_c, s_c+1). int32 [B, 1, T, K+1].
 */
function cellStarts(rl: Int32Array, B: number, T: number, K: number, backend: sea.Backend): Tensor {
  return sea.tidy(() => {
    const L = sea.tensor(Float32Array.from(rl), [B, 1, T, 1], { dtype: 'float32', backend });
    const c = sea.arange(0, K + 1, { backend, dtype: 'float32' }).reshape([1, 1, 1, K + 1]);
    // ⌈a / 2K⌉ = −⌊−a / 2K⌋ with a = 2Lc + 1 − K
    const a = sea.add(sea.mul(sea.mul(L, c), 2), 1 - K);
    const s = sea.neg(floorDivExact(sea.neg(a), 2 * K));
    return sea.cast(sea.minimum(sea.maximum(s, 0), L), 'int32');
  });
}

export function registerSeaGradients(): void {
  // @sea/mask's stretch of a float [B,H,T,K] to [B,H,T,keys] (out[j] = x[cell(j)] for j < L_t): the
  // gradient of cell c is the sum of dy over its run of keys, P[s_c+1] − P[s_c] with P the exclusive
  // prefix sums of dy (float32), instead of takeAlong's one-hot of B·H·T·keys·K
  registerGradient('stretchGather', (dy, { inputs: [x], attrs }) => {
    const rl = attr<Int32Array>(attrs, 'rowLen');
    const [B, H, T, K] = x!.shape;
    const backend = dy.backend;
    const s1 = cellStarts(rl, B, T, K, backend);
    const s = H === 1 ? s1 : sea.add(s1, sea.zeros([1, H, 1, 1], { dtype: 'int32', backend }));
    const d = dy.dtype === 'float32' || dy.dtype === 'float64' ? dy : sea.cast(dy, 'float32');
    const P = sea.cumsum(
      sea.pad(d, [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 1],
      ]),
      -1,
      { exclusive: true },
    );
    const at = sea.takeAlong(P, s); // [B, H, T, K+1]
    const g = sea.sub(sea.slice(at, [0, 0, 0, 1], [B, H, T, K]), sea.slice(at, [0, 0, 0, 0], [B, H, T, K]));
    return [g.dtype === x!.dtype ? g : sea.cast(g, x!.dtype)];
  });
  registerGradient('performerPrefixSum', (dy, { inputs: [qf, kf, v], attrs }) => {
    const eps = attr<number>(attrs, 'eps');
    return vjp((a, b, c) => performerPrefixSumDense(a, b, c, eps), [qf!, kf!, v!], dy);
  });
  // groupedTopK (bool) and stretchToCsr (int32) produce no float output: nothing flows through them.
}
