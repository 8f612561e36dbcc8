/** Random small OPT models of odd sizes for decoding tests (weights drawn here, no fixture). */

import type { AttentionKind } from '@sea/sparse-attention';
import { type Backend, cast, type DType, Rng, type Tensor, tensor } from '@sea/tensor';
import { type OptConfig, OptForCausalLM, optWeightSpecs } from '../src/index.js';

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

/** Weights N(0, 0.3²) (LayerNorm gains 1 + N(0, 0.1²)), drawn from `seed` (rounded once to `dtype`). */
export async function randomOpt(
  config: OptConfig,
  kind: AttentionKind,
  backend: Backend,
  seed = 1,
  seaConfig: Record<string, unknown> = { predictorLength: 8, k: 2, nbFeatureFactor: 1 },
  dtype: DType = 'float32',
): Promise<OptForCausalLM> {
  const rng = new Rng(seed);
  const weights = new Map<string, Tensor>();
  for (const spec of optWeightSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const isGain = /layer_norm\.weight$/.test(spec.name);
    const v = rng.fillNormal(new Float32Array(n), isGain ? 1 : 0, isGain ? 0.1 : 0.3) as Float32Array;
    const t = tensor(v, spec.shape, { backend });
    weights.set(spec.name, dtype === 'float32' ? t : cast(t, dtype));
    if (dtype !== 'float32') t.dispose();
  }
  return OptForCausalLM.fromWeights(config, weights, { backend, attention: kind, seaConfig, seed, dtype });
}
