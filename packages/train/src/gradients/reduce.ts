import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { registerGradient } from '../tape.js';
import { asFloat, attr, broadcastTo, keptShape, sumTo } from './util.js';

export function registerReduceGradients(): void {
  registerGradient('sum', (dy, { inputs: [x], attrs }) => {
    const axes = attr<number[]>(attrs, 'axes');
    return [broadcastTo(dy.reshape(keptShape(x!.shape, axes)), x!.shape)];
  });
  registerGradient('mean', (dy, { inputs: [x], attrs }) => {
    const axes = attr<number[]>(attrs, 'axes');
    const n = axes.reduce((p, a) => p * x!.shape[a], 1);
    return [broadcastTo(sea.div(dy.reshape(keptShape(x!.shape, axes)), n), x!.shape)];
  });
  // max/min: the gradient goes to the arg-extrema, split evenly among ties
  for (const op of ['max', 'min']) {
    registerGradient(op, (dy, { inputs: [x], output, attrs }) => {
      const axes = attr<number[]>(attrs, 'axes');
      const kept = keptShape(x!.shape, axes);
      const hit = asFloat(sea.equal(x!, output.reshape(kept)), x!);
      const count = sea.sum(hit, axes, true);
      return [sea.mul(hit, sea.div(dy.reshape(kept), count))];
    });
  }
  // prod: dy·y/x (inputs with zeros have no gradient here)
  registerGradient('prod', (dy, { inputs: [x], output, attrs }) => {
    const kept = keptShape(x!.shape, attr<number[]>(attrs, 'axes'));
    return [sea.div(sea.mul(dy.reshape(kept), output.reshape(kept)), x!)];
  });

  // y = softmax(x + mask): dx = y ⊙ (dy − Σ dy⊙y); the additive mask gets the same, summed to its shape
  registerGradient('softmax', (dy, { inputs: [, mask], output, needs }) => {
    const gx = sea.mul(output, sea.sub(dy, sea.sum(sea.mul(dy, output), -1, true)));
    return [needs[0] ? gx : null, needs[1] ? sumTo(gx, mask!.shape) : null];
  });
  registerGradient('logSoftmax', (dy, { output }) => [
    sea.sub(dy, sea.mul(sea.exp(output), sea.sum(dy, -1, true))),
  ]);

  registerGradient('layerNorm', (dy, { inputs: [x, gamma], attrs, needs }) => {
    const eps = attr<number>(attrs, 'eps');
    const xc = sea.sub(x!, sea.mean(x!, -1, true));
    const rstd = sea.rsqrt(sea.add(sea.mean(sea.square(xc), -1, true), eps));
    const xh = sea.mul(xc, rstd);
    const lead = Array.from({ length: x!.rank - 1 }, (_, i) => i);
    const gGamma = needs[1] ? sea.sum(sea.mul(dy, xh), lead) : null;
    const gBeta = needs[2] ? sea.sum(dy, lead) : null;
    let gx: Tensor | null = null;
    if (needs[0]) {
      const gxh = sea.mul(dy, gamma!);
      const m1 = sea.mean(gxh, -1, true);
      const m2 = sea.mean(sea.mul(gxh, xh), -1, true);
      gx = sea.mul(rstd, sea.sub(sea.sub(gxh, m1), sea.mul(xh, m2)));
    }
    return [gx, gGamma, gBeta];
  });
}
