/**
 * The AdamW update as one op: a backend with the fused `adamw` capability does it in one pass per
 * parameter; otherwise the same float32 operations are composed from primitives, rounded the same
 * way, so both give the same bits.
 */
import type { AdamWConstants } from './backend.js';
import type { Tensor } from './engine.js';
import { isRecording, tidy, wrap } from './engine.js';
import { DTypeError, ShapeError } from './errors.js';
import { add, div, mul, sqrt, square, sub, zeros } from './ops.js';
import { fmt, shapesEqual } from './shape.js';

export interface AdamWStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The step number t ≥ 1 (bias corrections 1 − βᵗ). */
  step: number;
  /** Multiplies the gradient first (gradient clipping's factor); default 1. */
  gradScale?: number;
}

/**
 * One AdamW step (PyTorch's AdamW) of a float32 (or float64) parameter `p` with gradient `g` and moments `m`, `v`
 * (null: zeros, the first step): g′ = g·gradScale; m′ = β1·m + (1−β1)·g′; v′ = β2·v + (1−β2)·g′²;
 * p′ = p·(1 − lr·wd) − (lr/(1−β1ᵗ))·m′ / (√v′/√(1−β2ᵗ) + eps). Returns new tensors; nothing is
 * recorded on the tape. Each constant is a scalar of the parameter's dtype and each operation rounds
 * to it; the fused capability takes float32 only.
 */
export function adamwStep(
  p: Tensor,
  g: Tensor,
  m: Tensor | null,
  v: Tensor | null,
  o: AdamWStepOptions,
): { param: Tensor; m: Tensor; v: Tensor } {
  for (const [name, t] of [
    ['param', p],
    ['gradient', g],
    ['m', m],
    ['v', v],
  ] as const) {
    if (!t) continue;
    t.assertLive(`adamwStep ${name}`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64')
      throw new DTypeError(
        `adamwStep: the ${name} must be float32 or float64 (master weights), got ${t.dtype}`,
      );
    if (t.dtype !== p.dtype)
      throw new DTypeError(`adamwStep: the ${name} is ${t.dtype}, the parameter ${p.dtype}`);
    if (!shapesEqual(t.shape, p.shape))
      throw new ShapeError(`adamwStep: the ${name} has shape ${fmt(t.shape)}, the parameter ${fmt(p.shape)}`);
    if (t.backend !== p.backend) throw new ShapeError(`adamwStep: the ${name} is on another backend`);
  }
  if (!(o.step >= 1)) throw new RangeError(`adamwStep: step must be ≥ 1, got ${o.step}`);
  const gradScale = o.gradScale ?? 1;
  // float32: each constant as the float32 scalar the composed ops would hold
  const f32 = p.dtype === 'float32' ? Math.fround : (x: number) => x;
  const c: AdamWConstants = {
    gradScale: f32(gradScale),
    beta1: f32(o.beta1),
    oneMinusBeta1: f32(1 - o.beta1),
    beta2: f32(o.beta2),
    oneMinusBeta2: f32(1 - o.beta2),
    decay: o.weightDecay > 0 ? f32(1 - o.lr * o.weightDecay) : 1,
    sqrtBc2: f32(Math.sqrt(1 - o.beta2 ** o.step)),
    eps: f32(o.eps),
    stepSize: f32(o.lr / (1 - o.beta1 ** o.step)),
  };
  const backend = p.backend;
  if (backend.adamw && p.dtype === 'float32' && !isRecording()) {
    const r = backend.adamw(p, g, m, v, c);
    if (r) return { param: wrap(backend, r[0]), m: wrap(backend, r[1]), v: wrap(backend, r[2]) };
  }
  const [np, nm, nv] = tidy(() => {
    const gs = c.gradScale !== 1 ? mul(g, c.gradScale) : g;
    const m0 = m ?? zeros(p.shape, { backend, dtype: p.dtype });
    const v0 = v ?? zeros(p.shape, { backend, dtype: p.dtype });
    const m1 = add(mul(m0, c.beta1), mul(gs, c.oneMinusBeta1));
    const v1 = add(mul(v0, c.beta2), mul(square(gs), c.oneMinusBeta2));
    const decayed = c.decay !== 1 ? mul(p, c.decay) : p;
    const denom = add(div(sqrt(v1), c.sqrtBc2), c.eps);
    return [sub(decayed, div(mul(m1, c.stepSize), denom)), m1, v1];
  });
  return { param: np, m: nm, v: nv };
}
