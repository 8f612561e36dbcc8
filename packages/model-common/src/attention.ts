/**
 * Attention per layer, chosen by name: 'dense' (exact softmax attention, the teacher), 'performer' or
 * 'sea' through @sea/sparse-attention's `createAttention`, and the paper's baselines 'reformer' (LSH
 * attention) and 'cosformer' from @sea/baselines, all behind one
 * `forward(q, k, v [B,H,T,D], {keyValid}) → {context [B,T,H·D]}`.
 */
import { CosformerAttention, ReformerAttention } from '@sea/baselines';
import { type AttentionModule, createAttention, type AttentionKind as SeaKind } from '@sea/sparse-attention';
import type { Backend, DType, Tensor } from '@sea/tensor';
import { ModelLoadError } from './errors.js';

export type { AttentionModule };
/** Every attention a layer can have. */
export type AttentionKind = SeaKind | 'reformer' | 'cosformer';
export const ATTENTION_KINDS: readonly AttentionKind[] = [
  'dense',
  'performer',
  'sea',
  'reformer',
  'cosformer',
];
/** One kind for every layer, or a kind per layer index. */
export type AttentionChoice = AttentionKind | ((layer: number) => AttentionKind);

export interface LayerAttentionConfig {
  causal: boolean;
  heads: number;
  headDim: number;
  /** Multiplies q·kᵀ: 1 for OPT (q is pre-scaled by D^-1/2 as in HF), 1/√D for BERT. */
  scoreScale: number;
  /** Rows of the SEA predictor's causal position table. */
  maxPositions?: number;
}

/** SEA/Performer settings the adapters fill in when not given (docs/algorithm.md §10). */
export interface SeaDefaults {
  predictorLength: number;
  k: number;
  nbFeatureFactor: number;
}

export function attentionKindOf(choice: AttentionChoice | undefined, layer: number): AttentionKind {
  const k = typeof choice === 'function' ? choice(layer) : (choice ?? 'dense');
  if (!ATTENTION_KINDS.includes(k)) {
    throw new ModelLoadError(
      `attention for layer ${layer} is '${String(k)}': expected one of ${ATTENTION_KINDS.join(', ')}`,
    );
  }
  return k;
}

/**
 * The layer's attention module. `seaConfig` (K, k, nbf, topkMode, path, …) overrides `defaults`;
 * the shape settings (causal, heads, headDim, scoreScale) always come from the model.
 */
export function createLayerAttention(
  kind: AttentionKind,
  layer: LayerAttentionConfig,
  opts: {
    seaConfig?: Readonly<Record<string, unknown>>;
    defaults: SeaDefaults;
    seed: number;
    weights?: Record<string, Tensor>;
    backend: Backend;
    /** Float dtype of freshly initialised SEA and Performer weights (the model's dtype; default float32). */
    dtype?: DType;
  },
): AttentionModule {
  const config = { ...opts.defaults, ...(opts.seaConfig ?? {}), ...layer };
  try {
    const shape = { causal: layer.causal, heads: layer.heads, headDim: layer.headDim };
    if (kind === 'reformer') {
      // the official runs: bucket size = the SEA k, 8 hash rounds
      const c = config as Record<string, unknown>;
      const bucketSize = (c.bucketSize as number | undefined) ?? (c.k as number);
      return new ReformerAttention(
        { ...shape, bucketSize, nHashes: (c.nHashes as number | undefined) ?? 8 },
        opts.seed,
      );
    }
    if (kind === 'cosformer') {
      return opts.weights
        ? CosformerAttention.fromWeights(shape, opts.weights)
        : CosformerAttention.create(shape, { seed: opts.seed, backend: opts.backend, dtype: opts.dtype });
    }
    return createAttention(kind, config, {
      seed: opts.seed,
      weights: opts.weights,
      backend: opts.backend,
      dtype: opts.dtype,
    });
  } catch (e) {
    throw new ModelLoadError(
      `cannot create '${kind}' attention: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * Runs one transformer layer, given its tensor inputs (e.g. the hidden state, the key mask) and a
 * function of them that returns the layer's outputs: a trainer's activation checkpointing keeps the
 * inputs and outputs only and runs the function again in backward. The function disposes its own
 * intermediates and reads no other non-parameter tensor.
 */
export type LayerCheckpoint = (
  inputs: readonly (Tensor | null)[],
  run: (inputs: (Tensor | null)[]) => Promise<Tensor[]>,
) => Promise<Tensor[]>;
