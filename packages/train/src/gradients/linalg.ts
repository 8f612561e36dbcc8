import * as sea from '@sea/tensor';
import { registerGradient } from '../tape.js';
import { attr, sumTo } from './util.js';

/**
 * C = op(A)·op(B). With logical A (M×K), B (K×N): dA = dC·Bᵀ, dB = Aᵀ·dC; when an operand is stored
 * transposed its gradient is the transpose of that, written as one matmul with the flags swapped.
 * Batch dims that were broadcast are summed back.
 */
export function registerLinalgGradients(): void {
  registerGradient('matmul', (dy, { inputs: [a, b], attrs, needs }) => {
    const transA = attr<boolean>(attrs, 'transA');
    const transB = attr<boolean>(attrs, 'transB');
    let ga = null;
    let gb = null;
    if (needs[0]) {
      const g = transA
        ? sea.matmul(b!, dy, { transA: transB, transB: true }) // (dC·Bᵀ)ᵀ = B·dCᵀ
        : sea.matmul(dy, b!, { transB: !transB }); // dC·Bᵀ
      ga = sumTo(g, a!.shape);
    }
    if (needs[1]) {
      const g = transB
        ? sea.matmul(dy, a!, { transA: true, transB: transA }) // (Aᵀ·dC)ᵀ = dCᵀ·A
        : sea.matmul(a!, dy, { transA: !transA }); // Aᵀ·dC
      gb = sumTo(g, b!.shape);
    }
    return [ga, gb];
  });
  // O = P·V with P = softmax(s·Q·Kᵀ + mask) (the fused attention op): P is recomputed by the composed
  // path; dV = Pᵀ·dO, dS = P ⊙ (dO·Vᵀ − rowsum(dO ⊙ O)), dQ = s·dS·K, dK = s·dSᵀ·Q; keyValid gets none
  registerGradient('attention', (dy, { inputs: [q, k, v, keyValid], output, attrs, needs }) => {
    const scale = attr<number>(attrs, 'scale');
    const p = sea.attentionProbs(q!, k!, scale, attr<boolean>(attrs, 'causal'), keyValid);
    const gv = needs[2] ? sea.matmul(p, dy, { transA: true }) : null;
    if (!needs[0] && !needs[1]) return [null, null, gv, null];
    // rowsum(dP ⊙ P) = rowsum(dO ⊙ O), a [.., Tq, 1] column instead of a pass over the T×T block
    const dp = sea.matmul(dy, v!, { transB: true });
    const ds = sea.mul(sea.mul(p, sea.sub(dp, sea.sum(sea.mul(dy, output), -1, true))), scale);
    const gq = needs[0] ? sea.matmul(ds, k!) : null;
    const gk = needs[1] ? sea.matmul(ds, q!, { transA: true }) : null;
    return [gq, gk, gv, null];
  });
}
