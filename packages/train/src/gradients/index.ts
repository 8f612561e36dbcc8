import { registerConvGradients } from './conv.js';
import { registerElementwiseGradients } from './elementwise.js';
import { registerLayoutGradients } from './layout.js';
import { registerLinalgGradients } from './linalg.js';
import { registerReduceGradients } from './reduce.js';
import { registerSeaGradients } from './sea_ops.js';

let done = false;

/** Registers the gradient of every differentiable op in @sea/tensor (idempotent). */
export function registerAllGradients(): void {
  if (done) return;
  done = true;
  registerReduceGradients();
  registerElementwiseGradients();
  registerLinalgGradients();
  registerLayoutGradients();
  registerConvGradients();
  registerSeaGradients();
}

export { scatterAddRows } from './layout.js';
export { causalOnes, performerPrefixSumDense } from './sea_ops.js';
export { broadcastTo, sumTo } from './util.js';
