/** SeaAttention configuration and its validation. */

import { performerFeatureCount } from '@sea/linear-attention';
import { checkTopKMode, type TopKMode } from '@sea/mask';
import { type PredictorConfig, predictorShape } from '@sea/predictor';
import { checkScoreScale, defaultScoreScale } from './dense.js';
import type { AttentionPath } from './types.js';
import { positiveInt } from './validate.js';

export interface SeaAttentionConfig {
  causal: boolean;
  /** H */
  heads: number;
  /** D */
  headDim: number;
  /** K, the compressed width (`attention_predictor_length`): OPT 256, BERT 128. */
  predictorLength: number;
  /** k, keys per query per head on average: OPT 64, BERT 7…64. */
  k: number;
  /** performer_nb_feature_factor: m = ⌊D·ln D / nbf⌋ (OPT 8, BERT 1). */
  nbFeatureFactor: number;
  /** Grouping of the top-k (docs/algorithm.md §5); default 'causal_batch', the only mode allowed when causal. */
  topkMode?: TopKMode;
  /** Rows of the causal position table (default 2048). */
  maxPositions?: number;
  /** Multiplies Q·Kᵀ; default 1 when causal (OPT pre-scales Q), 1/√D otherwise (BERT). */
  scoreScale?: number;
  /** Default forward path: 'sparse' (FlatCSR, linear memory) or 'dense' (T×T reference). */
  path?: AttentionPath;
  /**
   * `partial_attention_scaler` (spec §7 step 3, default true): scale the sparse softmax by s_prob.
   * False keeps the plain renormalised softmax over the selected keys.
   */
  partialAttentionScaler?: boolean;
  /**
   * `k_oversample` (spec §6, default 1): the top-k budgets use k·kOversample; the dense path thins
   * each stretched row back to about k keys per cell width (the sparse path keeps the cap k).
   */
  kOversample?: number;
}

export interface ResolvedSeaConfig extends Required<Omit<SeaAttentionConfig, 'maxPositions'>> {
  maxPositions?: number;
  /** Performer features m. */
  features: number;
}

export function resolveSeaConfig(config: SeaAttentionConfig): ResolvedSeaConfig {
  const op = 'SeaAttention config';
  if (typeof config.causal !== 'boolean')
    throw new TypeError(`${op}: causal must be a boolean, got ${String(config.causal)}`);
  positiveInt(op, 'heads', config.heads);
  positiveInt(op, 'headDim', config.headDim);
  positiveInt(op, 'predictorLength (K)', config.predictorLength);
  positiveInt(op, 'k', config.k);
  const topkMode = config.topkMode ?? 'causal_batch';
  checkTopKMode(topkMode, config.causal);
  checkScoreScale(op, config.scoreScale);
  const path = config.path ?? 'sparse';
  if (path !== 'sparse' && path !== 'dense')
    throw new RangeError(`${op}: path must be 'sparse' or 'dense', got '${path}'`);
  predictorShape(predictorConfig(config)); // K divisible by the CNN's width reduction, maxPositions
  const features = performerFeatureCount(config.headDim, config.nbFeatureFactor);
  const kOversample = config.kOversample ?? 1;
  if (!(Number.isFinite(kOversample) && kOversample >= 1) || !Number.isInteger(config.k * kOversample)) {
    throw new RangeError(
      `${op}: kOversample must be ≥ 1 with k·kOversample an integer, got ${kOversample} (k = ${config.k})`,
    );
  }
  const partialAttentionScaler = config.partialAttentionScaler ?? true;
  if (typeof partialAttentionScaler !== 'boolean') {
    throw new TypeError(
      `${op}: partialAttentionScaler must be a boolean, got ${String(partialAttentionScaler)}`,
    );
  }
  return {
    causal: config.causal,
    heads: config.heads,
    headDim: config.headDim,
    predictorLength: config.predictorLength,
    k: config.k,
    nbFeatureFactor: config.nbFeatureFactor,
    topkMode,
    maxPositions: config.maxPositions,
    scoreScale: config.scoreScale ?? defaultScoreScale(config.causal, config.headDim),
    path,
    partialAttentionScaler,
    kOversample,
    features,
  };
}

export function predictorConfig(config: SeaAttentionConfig): PredictorConfig {
  const p: PredictorConfig = {
    causal: config.causal,
    heads: config.heads,
    headDim: config.headDim,
    predictorLength: config.predictorLength,
  };
  if (config.maxPositions !== undefined) p.maxPositions = config.maxPositions;
  return p;
}
