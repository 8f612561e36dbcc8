/** Random weights for any architecture's weight specs, initialised as Hugging Face does. */
import { type Backend, currentBackend, Rng, type Tensor, tensor } from '@sea/tensor';
import type { WeightSpec } from './weights.js';

/** One host tensor, in the form safetensors writers take. */
export interface HostWeight {
  dtype: 'float32';
  shape: number[];
  data: Float32Array;
}

export interface RandomWeightsOptions {
  /**
   * Standard deviation of the normal-initialised tensors instead of 0.02: one number for all, or
   * per tensor name (e.g. a peaked test teacher).
   */
  std?: number | Readonly<Record<string, number>>;
  /**
   * Standard deviation of normal noise on the zeros and ones initialisations (default 0: exact), so
   * that tests see biases and LayerNorm gains away from their trivial values.
   */
  jitter?: number;
}

/**
 * Every tensor of `specs` (optional ones included) as Hugging Face initialises them: each spec's
 * `init` (normal(0, 0.02) by default, zeros for biases, ones for LayerNorm weights), the normal
 * values drawn in spec order from Rng(seed). Deterministic in the seed, on every platform.
 */
export function randomWeights(
  specs: readonly WeightSpec[],
  seed: number,
  opts: RandomWeightsOptions = {},
): Record<string, HostWeight> {
  const rng = new Rng(seed);
  const jitter = opts.jitter ?? 0;
  const out: Record<string, HostWeight> = {};
  for (const s of specs) {
    const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
    const init = s.init ?? 'normal';
    if (init === 'normal') {
      const std = typeof opts.std === 'number' ? opts.std : (opts.std?.[s.name] ?? 0.02);
      rng.fillNormal(data, 0, std);
    } else if (jitter > 0) rng.fillNormal(data, init === 'ones' ? 1 : 0, jitter);
    else if (init === 'ones') data.fill(1);
    out[s.name] = { dtype: 'float32', shape: [...s.shape], data };
  }
  return out;
}

/** Host weights as tensors on `backend` (default the current one), kept past any `tidy` scope. */
export function uploadWeights(
  weights: Readonly<Record<string, HostWeight>>,
  backend?: Backend,
): Map<string, Tensor> {
  const b = backend ?? currentBackend();
  const out = new Map<string, Tensor>();
  for (const [n, w] of Object.entries(weights)) {
    out.set(n, tensor(w.data, w.shape, { backend: b, dtype: 'float32' }).keep());
  }
  return out;
}
