/**
 * Attention per layer, chosen by name through @sea/sparse-attention's `createAttention`:
 * 'dense' (exact softmax attention, the teacher), 'performer' or 'sea', all behind one
 * `forward(q, k, v [B,H,T,D], {keyValid}) → {context [B,T,H·D]}`.
 */
import { type AttentionKind, type AttentionModule, createAttention } from '@sea/sparse-attention';
import type { Backend, DType, Tensor } from '@sea/tensor';
import { ModelLoadError } from './errors.js';

export type { AttentionKind, AttentionModule };
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
  if (k !== 'dense' && k !== 'performer' && k !== 'sea') {
    throw new ModelLoadError(
      `attention for layer ${layer} is '${String(k)}': expected 'dense', 'performer' or 'sea'`,
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
