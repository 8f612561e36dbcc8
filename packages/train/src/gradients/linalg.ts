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
}
