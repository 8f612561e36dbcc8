/** Random small OPT models of odd sizes for decoding tests (weights drawn here, no fixture). */

import type { AttentionKind } from '@sea/sparse-attention';
import { type Backend, cast, type DType, type Tensor } from '@sea/tensor';
import {
  type OptConfig,
  OptForCausalLM,
  optWeightSpecs,
  randomWeights,
  uploadWeights,
} from '../src/index.js';

export interface RandomOptOptions {
  postLn?: boolean;
  /** word_embed_proj_dim ≠ hidden_size: project_in/project_out. */
  project?: boolean;
  maxPositions?: number;
  vocab?: number;
}

export function randomOptConfig(o: RandomOptOptions = {}): OptConfig {
  return {
    modelType: 'opt',
    vocabSize: o.vocab ?? 67,
    hiddenSize: 15,
    numHiddenLayers: 2,
    ffnDim: 23,
    numAttentionHeads: 3,
    maxPositionEmbeddings: o.maxPositions ?? 300,
    doLayerNormBefore: !o.postLn,
    wordEmbedProjDim: o.project ? 11 : 15,
    activationFunction: 'relu',
    enableBias: true,
    layerNormElementwiseAffine: true,
    removeFinalLayerNorm: false,
    tieWordEmbeddings: true,
    padTokenId: 1,
    bosTokenId: 2,
    eosTokenId: 2,
    layerNormEps: 1e-5,
  };
}

/**
 * Weights N(0, 0.3²), biases N(0, 0.1²) and LayerNorm gains 1 + N(0, 0.1²) (randomWeights), drawn
 * from `seed` (rounded once to `dtype`).
 */
export async function randomOpt(
  config: OptConfig,
  kind: AttentionKind,
  backend: Backend,
  seed = 1,
  seaConfig: Record<string, unknown> = { predictorLength: 8, k: 2, nbFeatureFactor: 1 },
  dtype: DType = 'float32',
): Promise<OptForCausalLM> {
  const host = randomWeights(optWeightSpecs(config), seed, { std: 0.3, jitter: 0.1 });
  const weights = new Map<string, Tensor>();
  for (const [name, t] of uploadWeights(host, backend)) {
    weights.set(name, dtype === 'float32' ? t : cast(t, dtype).keep());
    if (dtype !== 'float32') t.dispose();
  }
  return OptForCausalLM.fromWeights(config, weights, { backend, attention: kind, seaConfig, seed, dtype });
}

/**
 * The same model computed in float32: a 16-bit model's parameters and buffers (the Performer
 * projections included) cast to float32, so it differs from the 16-bit model in its arithmetic only.
 */
export async function float32Twin(
  model: OptForCausalLM,
  config: OptConfig,
  kind: AttentionKind,
  backend: Backend,
  seaConfig: Record<string, unknown> = { predictorLength: 8, k: 2, nbFeatureFactor: 1 },
): Promise<OptForCausalLM> {
  const weights = new Map<string, Tensor>();
  for (const m of [model.parameters(), model.buffers()])
    for (const [name, t] of m) {
      weights.set(name, t.dtype === 'float32' ? t : cast(t, 'float32').keep());
      if (t.dtype !== 'float32') t.dispose();
    }
  return OptForCausalLM.fromWeights(config, weights, {
    backend,
    attention: kind,
    seaConfig,
    dtype: 'float32',
  });
}
