/**
 * `estimateAttention`: the steps of docs/algorithm.md §2 (position code to estimate), from the layer's Q, K, V to the compressed attention
 * logits Â [B, H, T, K] and the two per-row scalers.
 */
import { performerAttention } from '@sea/linear-attention';
import {
  concat,
  DTypeError,
  fmt,
  isFloat,
  layerNorm,
  linear,
  releaseEarly,
  ShapeError,
  sigmoid,
  slice,
  type Tensor,
  tidy,
  transpose,
  where,
} from '@sea/tensor';
import { LAYER_NORM_EPS, predictorCnn } from './cnn.js';
import { type PredictorConfig, type PredictorShape, predictorShape } from './config.js';
import { positionCode } from './position.js';
import { checkPredictorWeights, type PredictorWeights } from './weights.js';

export interface EstimateInputs {
  /** [B, H, T, D] float32 (OPT: already × D^(-1/2); BERT: unscaled). */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** Performer projection W [m, D] (@sea/linear-attention). */
  projection: Tensor;
  /** bool [B, T]: false at pad tokens. V and V_cat are zeroed there; K is not masked (docs/algorithm.md §3). */
  keyValid?: Tensor;
}

export interface EstimateOutputs {
  /** Â logits [B, H, T, K]; Â = softmax over K. */
  logits: Tensor;
  /** σ(f_scale(Z))[0]: scale of the sparse attention probabilities [B, H, T]. */
  sProb: Tensor;
  /** σ(f_scale(Z))[1]: weight of the sparse context against C_avg [B, H, T]. */
  sMix: Tensor;
}

/**
 * V'_cat = [C_perf ; V] → Z = GELU(LN(Linear(V'_cat))) → (s_prob, s_mix) = σ(Linear(Z)) [B,H,T] and
 * Ẑ = channel-split(ν(Z)) [B, H·c_h, T, K/c_s]. Row by row, so one new row computes alone.
 */
export function encode(
  s: PredictorShape,
  weights: PredictorWeights,
  cPerf: Tensor,
  vz: Tensor,
  release: readonly (Tensor | null)[] = [],
): { sProb: Tensor; sMix: Tensor; zHat: Tensor } {
  const [B, , T] = vz.shape;
  // intermediates go as soon as the chain is past them (releaseEarly: not while a tape records), so
  // the peak stays at a few [B,H,T,·] tensors; of the inputs, only those in `release` go
  const vCat2 = concat([cPerf, vz], -1); // [B,H,T,3D]
  releaseEarly(...release);
  const enc = linear(vCat2, weights['encoder.linear.weight'], weights['encoder.linear.bias']);
  releaseEarly(vCat2);
  // LayerNorm with the GELU in its store: one pass over the row
  const z = layerNorm(enc, weights['encoder.norm.weight'], weights['encoder.norm.bias'], LAYER_NORM_EPS, {
    activation: 'gelu',
  });
  releaseEarly(enc);
  const scales = sigmoid(linear(z, weights['scaler.weight'], weights['scaler.bias'])); // [B,H,T,2]
  const sProb = slice(scales, [0, 0, 0, 0], [B, s.H, T, 1]).reshape([B, s.H, T]);
  const sMix = slice(scales, [0, 0, 0, 1], [B, s.H, T, 1]).reshape([B, s.H, T]);
  releaseEarly(scales);
  // ν(Z)[b,h,t, c·W + w] → Ẑ[b, h·c_h + c, t, w]
  const nu = linear(z, weights['nu.weight'], weights['nu.bias']).reshape([B, s.H, T, s.ch, s.width]);
  releaseEarly(z);
  // one row (decoding): moving the size-1 time axis is a reshape
  if (T === 1) return { sProb, sMix, zHat: nu.reshape([B, s.H * s.ch, T, s.width]) };
  const zHat = transpose(nu, [0, 1, 3, 2, 4]).reshape([B, s.H * s.ch, T, s.width]);
  releaseEarly(nu);
  return { sProb, sMix, zHat };
}

/**
 * V_I → V_cat = [V_I ; V] → C_perf = Performer(Q, K, V_cat) → V'_cat = [C_perf ; V] →
 * Z = GELU(LN(Linear(V'_cat))) → (s_prob, s_mix) = σ(Linear(Z)), Ẑ = channel-split(ν(Z)) → CNN.
 */
export function estimateAttention(
  config: PredictorConfig,
  weights: PredictorWeights,
  inputs: EstimateInputs,
): EstimateOutputs {
  const s = predictorShape(config);
  checkPredictorWeights(config, weights);
  const { q, k, v, projection, keyValid } = inputs;
  const [B, , T] = q.shape;
  for (const [t, n] of [
    [q, 'q'],
    [k, 'k'],
    [v, 'v'],
  ] as const) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== s.H || t.shape[2] !== T || t.shape[3] !== s.D) {
      throw new ShapeError(
        `estimateAttention: expected ${n} of shape [${B},${s.H},${T},${s.D}], got ${fmt(t.shape)}`,
      );
    }
    // float64 (with float64 weights) is accepted for gradient checks
    if (!isFloat(t.dtype)) throw new DTypeError(`estimateAttention: ${n} must be float32, got ${t.dtype}`);
  }
  if (
    keyValid &&
    (keyValid.dtype !== 'bool' || keyValid.rank !== 2 || keyValid.shape[0] !== B || keyValid.shape[1] !== T)
  ) {
    throw new ShapeError(
      `estimateAttention: expected keyValid bool [${B},${T}], got ${keyValid.dtype} ${fmt(keyValid.shape)}`,
    );
  }
  return tidy(() => {
    const rowValid = keyValid?.reshape([B, 1, T, 1]);
    const vz = rowValid ? where(rowValid, v, 0) : v;
    // each intermediate is released as soon as the chain is past it (releaseEarly), so the peak
    // holds a few [B,H,T,·] tensors rather than all of them
    const vI = positionCode(config, weights, { batch: B, T, keyValid });
    const vCat = concat([vI, vz], -1); // [B,H,T,2D]; both halves are already zero at pads
    releaseEarly(vI);
    const cPerf = performerAttention(q, k, vCat, { causal: s.causal, projection });
    releaseEarly(vCat);
    const { sProb, sMix, zHat } = encode(s, weights, cPerf, vz, [cPerf, vz === v ? null : vz]);
    const logits = predictorCnn(config, weights, zHat);
    releaseEarly(zHat);
    return { logits, sProb, sMix };
  });
}
