// Central finite differences in float64 on the CPU backend, the reference for every gradient test.
import { CpuBackend } from '@sea/backend-cpu';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { expect } from 'vitest';
import { valueAndGrad, valueAndGradAuxAsync } from '../index.js';

export const backend = new CpuBackend();
sea.useBackend(backend);

export const rng = new sea.Rng(1234);

export function randn(n: number, scale = 1): Float64Array {
  return rng.fillNormal(new Float64Array(n), 0, scale) as Float64Array;
}

/** Uniform values bounded away from zero (for log, 1/x, |x|, relu kinks). */
export function awayFromZero(n: number, lo = 0.3, hi = 1.5, signed = true): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = lo + (hi - lo) * rng.uniform();
    a[i] = signed && rng.uniform() < 0.5 ? -m : m;
  }
  return a;
}

export interface Input {
  shape: number[];
  values?: Float64Array;
}

export function f64(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return sea.tensor(Float64Array.from(values), shape, { dtype: 'float64' });
}

export function i32(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  return sea.tensor(Int32Array.from(values), shape, { dtype: 'int32' });
}

export interface CheckOptions {
  h?: number;
  atol?: number;
  rtol?: number;
}

/**
 * Checks the gradients of Σ fn(inputs)·R (R random, fixed) against central differences of the same
 * float64 computation, element by element.
 */
export function gradCheck(inputs: Input[], fn: (...xs: Tensor[]) => Tensor, opts: CheckOptions = {}): void {
  const h = opts.h ?? 1e-6;
  const atol = opts.atol ?? 1e-7;
  const rtol = opts.rtol ?? 1e-6;
  const vals = inputs.map((x) => x.values ?? randn(x.shape.reduce((a, b) => a * b, 1)));
  const before = backend.memory().bytes;
  const outShape = sea.tidy(() => fn(...vals.map((v, i) => f64(v, inputs[i].shape))).shape);
  const r = randn(outShape.reduce((a, b) => a * b, 1));
  const lossOf = (xs: Tensor[]) => sea.sum(sea.mul(fn(...xs), f64(r, outShape)));
  const evalAt = (vs: Float64Array[]) =>
    sea.tidy(() => lossOf(vs.map((v, i) => f64(v, inputs[i].shape))).dataSync()[0]);

  const analytic = sea.tidy(() => {
    const ts = vals.map((v, i) => f64(v, inputs[i].shape));
    const params: Record<string, Tensor> = {};
    ts.forEach((t, i) => {
      params[`x${i}`] = t;
    });
    const { grads } = valueAndGrad(() => lossOf(ts), params);
    return ts.map((_, i) => Float64Array.from(grads[`x${i}`].dataSync()));
  });

  vals.forEach((v, i) => {
    let worst = 0;
    let at = -1;
    for (let j = 0; j < v.length; j++) {
      const x0 = v[j];
      v[j] = x0 + h;
      const up = evalAt(vals);
      v[j] = x0 - h;
      const down = evalAt(vals);
      v[j] = x0;
      const num = (up - down) / (2 * h);
      const err = Math.abs(analytic[i][j] - num) - rtol * Math.abs(num);
      if (err > worst) {
        worst = err;
        at = j;
      }
    }
    if (worst > atol) {
      throw new Error(
        `input ${i} ${JSON.stringify(inputs[i].shape)}: element ${at} analytic ${analytic[i][at]} vs numeric (worst excess ${worst})`,
      );
    }
  });
  expect(backend.memory().bytes).toBe(before);
}

/** {@link gradCheck} for an async `fn` (e.g. SeaAttention.forward); `fn` disposes its own intermediates. */
export async function gradCheckAsync(
  inputs: Input[],
  fn: (...xs: Tensor[]) => Promise<Tensor>,
  opts: CheckOptions = {},
): Promise<void> {
  const h = opts.h ?? 1e-6;
  const atol = opts.atol ?? 1e-7;
  const rtol = opts.rtol ?? 1e-6;
  const vals = inputs.map((x) => x.values ?? randn(x.shape.reduce((a, b) => a * b, 1)));
  const before = backend.memory().bytes;
  const evalAt = async (vs: Float64Array[], r: Float64Array | null) => {
    const xs = vs.map((v, i) => f64(v, inputs[i].shape));
    const y = await fn(...xs);
    const out = r ? sea.tidy(() => sea.sum(sea.mul(y, f64(r, y.shape))).dataSync()[0]) : y.shape;
    for (const t of [...xs, y]) t.dispose();
    return out;
  };
  const outShape = (await evalAt(vals, null)) as number[];
  const r = randn(outShape.reduce((a, b) => a * b, 1));
  const ts = vals.map((v, i) => f64(v, inputs[i].shape));
  const params: Record<string, Tensor> = {};
  ts.forEach((t, i) => {
    params[`x${i}`] = t;
  });
  const res = await valueAndGradAuxAsync(async () => {
    const y = await fn(...ts);
    const loss = sea.tidy(() => sea.sum(sea.mul(y, f64(r, outShape))));
    y.dispose();
    return { loss, aux: null };
  }, params);
  const analytic = ts.map((_, i) => Float64Array.from(res.grads[`x${i}`].dataSync()));
  for (const t of [...ts, res.value, ...Object.values(res.grads)]) t.dispose();

  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    let worst = 0;
    let at = -1;
    for (let j = 0; j < v.length; j++) {
      const x0 = v[j];
      v[j] = x0 + h;
      const up = (await evalAt(vals, r)) as number;
      v[j] = x0 - h;
      const down = (await evalAt(vals, r)) as number;
      v[j] = x0;
      const num = (up - down) / (2 * h);
      const err = Math.abs(analytic[i][j] - num) - rtol * Math.abs(num);
      if (err > worst) {
        worst = err;
        at = j;
      }
    }
    if (worst > atol) {
      throw new Error(
        `input ${i} ${JSON.stringify(inputs[i].shape)}: element ${at} analytic ${analytic[i][at]} vs numeric (worst excess ${worst})`,
      );
    }
  }
  expect(backend.memory().bytes).toBe(before);
}
