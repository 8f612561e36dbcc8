/**
 * Predictor weights: PyTorch-default initialization from a seed, and validation of a weight set
 * (e.g. one read from a checkpoint) against the config.
 */
import {
  type Backend,
  currentBackend,
  DTypeError,
  fmt,
  isFloat,
  Rng,
  ShapeError,
  type Tensor,
  tensor,
} from '@sea/tensor';
import { type PredictorConfig, predictorWeightSpecs } from './config.js';

export type PredictorWeights = Record<string, Tensor>;

export interface PredictorInitOptions {
  seed: number;
  backend?: Backend;
}

/**
 * Fresh predictor weights with PyTorch's default inits: Linear and Conv2d weights and biases
 * U(±1/√fan_in) (kaiming-uniform with a=√5), LayerNorm ones/zeros, the causal position table
 * N(0,1), the causal convs drawn as a 3×3 kernel copied into the top three rows of the stored 5×3
 * (bottom rows zero). Weights are drawn in `predictorWeightSpecs` order from one seeded stream.
 */
export function initPredictorWeights(config: PredictorConfig, opts: PredictorInitOptions): PredictorWeights {
  const backend = opts.backend ?? currentBackend();
  const rng = new Rng(opts.seed);
  const out: PredictorWeights = {};
  for (const spec of predictorWeightSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    const init = spec.init;
    switch (init.kind) {
      case 'ones':
        v.fill(1);
        break;
      case 'zeros':
        break;
      case 'normal':
        rng.fillNormal(v);
        break;
      case 'uniform': {
        const bound = 1 / Math.sqrt(init.fanIn);
        rng.fillUniform(v, -bound, bound);
        break;
      }
      case 'causalConv': {
        const bound = 1 / Math.sqrt(init.fanIn);
        const [O, C, kh, kw] = spec.shape;
        const top = Math.ceil(kh / 2);
        for (let o = 0; o < O; o++)
          for (let c = 0; c < C; c++)
            for (let a = 0; a < top; a++)
              for (let b = 0; b < kw; b++)
                v[((o * C + c) * kh + a) * kw + b] = -bound + 2 * bound * rng.uniform();
        break;
      }
    }
    out[spec.name] = tensor(v, spec.shape, { backend, dtype: 'float32' }).keep();
  }
  return out;
}

/**
 * Throws, naming the weight, unless `weights` holds every predictor weight with its shape, float32
 * (or all float64, for gradient checks).
 */
export function checkPredictorWeights(config: PredictorConfig, weights: PredictorWeights): void {
  let dtype: string | undefined;
  for (const spec of predictorWeightSpecs(config)) {
    const w = weights[spec.name];
    if (!w)
      throw new ShapeError(
        `predictor: missing weight '${spec.name}' ${fmt(spec.shape)} (official ${spec.official})`,
      );
    if (w.shape.length !== spec.shape.length || w.shape.some((d, i) => d !== spec.shape[i])) {
      throw new ShapeError(
        `predictor: expected weight '${spec.name}' of shape ${fmt(spec.shape)}, got ${fmt(w.shape)}`,
      );
    }
    if (!isFloat(w.dtype) || (dtype !== undefined && w.dtype !== dtype))
      throw new DTypeError(`predictor: weight '${spec.name}' must be float32, got ${w.dtype}`);
    dtype = w.dtype;
  }
}

export function disposePredictorWeights(weights: PredictorWeights): void {
  for (const w of Object.values(weights)) w.dispose();
}
