import type { DType, Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { getGradient, registerGradient } from '../tape.js';
import { asFloat, sumTo } from './util.js';

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Unary ops: dx = dy · f'(x), written with the op's input x and output y. */
const UNARY: Record<string, (dy: Tensor, x: Tensor, y: Tensor) => Tensor | null> = {
  neg: (dy) => sea.neg(dy),
  abs: (dy, x) => sea.mul(dy, sea.sign(x)),
  exp: (dy, _x, y) => sea.mul(dy, y),
  log: (dy, x) => sea.div(dy, x),
  sqrt: (dy, _x, y) => sea.div(dy, sea.mul(y, 2)),
  rsqrt: (dy, _x, y) => sea.mul(dy, sea.mul(sea.pow(y, 3), -0.5)),
  square: (dy, x) => sea.mul(dy, sea.mul(x, 2)),
  reciprocal: (dy, _x, y) => sea.neg(sea.mul(dy, sea.square(y))),
  sin: (dy, x) => sea.mul(dy, sea.cos(x)),
  cos: (dy, x) => sea.neg(sea.mul(dy, sea.sin(x))),
  tanh: (dy, _x, y) => sea.mul(dy, sea.sub(1, sea.square(y))),
  sigmoid: (dy, _x, y) => sea.mul(dy, sea.mul(y, sea.sub(1, y))),
  relu: (dy, x) => sea.mul(dy, asFloat(sea.greater(x, 0), x)),
  // d/dx x·Φ(x) = Φ(x) + x·φ(x)
  gelu: (dy, x) => {
    const cdf = sea.mul(sea.add(sea.erf(sea.mul(x, SQRT_HALF)), 1), 0.5);
    const pdf = sea.mul(sea.exp(sea.mul(sea.square(x), -0.5)), INV_SQRT_2PI);
    return sea.mul(dy, sea.add(cdf, sea.mul(x, pdf)));
  },
  // ½(1+t) + ½x(1−t²)·c(1+3a x²), t = tanh(c(x + a x³))
  gelu_tanh: (dy, x) => {
    const c = Math.sqrt(2 / Math.PI);
    const a = 0.044715;
    const x2 = sea.square(x);
    const t = sea.tanh(sea.mul(sea.add(x, sea.mul(sea.mul(x2, x), a)), c));
    const left = sea.mul(sea.add(t, 1), 0.5);
    const dt = sea.mul(sea.sub(1, sea.square(t)), sea.mul(sea.add(sea.mul(x2, 3 * a), 1), c));
    return sea.mul(dy, sea.add(left, sea.mul(sea.mul(x, dt), 0.5)));
  },
  erf: (dy, x) => sea.mul(dy, sea.mul(sea.exp(sea.neg(sea.square(x))), TWO_OVER_SQRT_PI)),
  // piecewise constant: zero almost everywhere
  floor: () => null,
  ceil: () => null,
  round: () => null,
  sign: () => null,
};

export function registerElementwiseGradients(): void {
  for (const [op, f] of Object.entries(UNARY)) {
    registerGradient(op, (dy, { inputs, output }) => [f(dy, inputs[0] as Tensor, output)]);
  }

  registerGradient('add', (dy, { inputs: [a, b] }) => [sumTo(dy, a!.shape), sumTo(dy, b!.shape)]);
  registerGradient('sub', (dy, { inputs: [a, b], needs }) => [
    sumTo(dy, a!.shape),
    needs[1] ? sumTo(sea.neg(dy), b!.shape) : null,
  ]);
  registerGradient('mul', (dy, { inputs: [a, b], needs }) => [
    needs[0] ? sumTo(sea.mul(dy, b!), a!.shape) : null,
    needs[1] ? sumTo(sea.mul(dy, a!), b!.shape) : null,
  ]);
  registerGradient('div', (dy, { inputs: [a, b], output, needs }) => [
    needs[0] ? sumTo(sea.div(dy, b!), a!.shape) : null,
    needs[1] ? sumTo(sea.neg(sea.div(sea.mul(dy, output), b!)), b!.shape) : null,
  ]);
  // ties split the gradient evenly between the operands (as PyTorch's maximum/minimum do)
  const pick = (op: 'gt' | 'lt') => (dy: Tensor, a: Tensor, b: Tensor) => {
    const wins = asFloat(sea.binary(op, a, b), dy);
    const ties = sea.mul(asFloat(sea.equal(a, b), dy), 0.5);
    const wa = sea.add(wins, ties);
    return [sea.mul(dy, wa), sea.mul(dy, sea.sub(1, wa))];
  };
  for (const [op, cmp] of [
    ['max', 'gt'],
    ['min', 'lt'],
  ] as const) {
    // 'max'/'min' also name the reductions (one input); those are registered in reduce.ts
    const reduction = getGradient(op);
    registerGradient(op, (dy, ctx) => {
      if (ctx.inputs.length === 1) return reduction ? reduction(dy, ctx) : [null];
      const [a, b] = ctx.inputs;
      const [ga, gb] = pick(cmp)(dy, a!, b!);
      return [sumTo(ga, a!.shape), sumTo(gb, b!.shape)];
    });
  }
  // y = a^b: dy·b·a^(b−1) and dy·y·ln a (0 where a ≤ 0, where ln a is not real)
  registerGradient('pow', (dy, { inputs: [a, b], output, needs }) => [
    needs[0] ? sumTo(sea.mul(dy, sea.mul(b!, sea.pow(a!, sea.sub(b!, 1)))), a!.shape) : null,
    needs[1]
      ? sumTo(
          sea.mul(dy, sea.where(sea.greater(a!, 0), sea.mul(output, sea.log(sea.maximum(a!, 1e-300))), 0)),
          b!.shape,
        )
      : null,
  ]);

  registerGradient('where', (dy, { inputs: [cond, a, b], needs }) => [
    null,
    needs[1] ? sumTo(sea.where(cond!, dy, 0), a!.shape) : null,
    needs[2] ? sumTo(sea.where(cond!, 0, dy), b!.shape) : null,
  ]);

  registerGradient('cast', (dy, { inputs: [x] }) => [sea.cast(dy, x!.dtype as DType)]);
}
