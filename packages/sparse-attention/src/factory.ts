/** Attention by name, so model adapters can choose per layer ('dense' | 'performer' | 'sea'). */
import { PerformerAttention, PROJECTION_WEIGHT } from '@sea/linear-attention';
import type { Backend, DType, Tensor } from '@sea/tensor';
import type { SeaAttentionConfig } from './config.js';
import {
  type DecodeState,
  PerformerDecodeState,
  type PrefillOptions,
  performerPrefill,
  performerStep,
  type StepOutput,
} from './decode.js';
import { DenseAttention, type DenseAttentionConfig } from './dense.js';
import { SeaAttention } from './sea_attention.js';
import type { AttentionForwardOptions, AttentionModule, AttentionOutput } from './types.js';
import { checkQkv } from './validate.js';

export type AttentionKind = 'dense' | 'performer' | 'sea';

/** Dense needs causal/heads/headDim; performer adds nbFeatureFactor; sea the whole SeaAttentionConfig. */
export type AttentionConfig = DenseAttentionConfig & Partial<SeaAttentionConfig>;

export interface CreateAttentionOptions {
  /** Seed of fresh weights (default 0); ignored when `weights` is given. */
  seed?: number;
  /** Existing weights (the layer takes ownership). */
  weights?: Record<string, Tensor>;
  backend?: Backend;
  /** Float dtype of fresh SEA and Performer weights (default float32). */
  dtype?: DType;
}

/** The Performer baseline behind the common module interface. */
class PerformerModule implements AttentionModule {
  readonly kind = 'performer' as const;
  constructor(readonly layer: PerformerAttention) {}
  get weights(): Record<string, Tensor> {
    return this.layer.weights;
  }
  parameterCount(): number {
    return 0; // W is a buffer, redrawn rather than trained
  }
  forward(q: Tensor, k: Tensor, v: Tensor, opts: AttentionForwardOptions = {}): Promise<AttentionOutput> {
    return this.layer.forward(q, k, v, opts.keyValid ? { keyValid: opts.keyValid } : {});
  }
  /** Causal only: the prompt's context and the running sums (see decode.ts). */
  async prefill(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: PrefillOptions = {},
  ): Promise<{ context: Tensor; state: DecodeState }> {
    if (!this.layer.config.causal)
      throw new RangeError('PerformerAttention.prefill: decoding needs a causal layer');
    checkQkv('PerformerAttention.prefill', q, k, v, this.layer.config.heads, this.layer.config.headDim);
    return performerPrefill(this.layer.weights[PROJECTION_WEIGHT], q, k, v, opts);
  }
  async step(state: DecodeState, q1: Tensor, k1: Tensor, v1: Tensor): Promise<StepOutput> {
    if (!(state instanceof PerformerDecodeState))
      throw new TypeError(
        `PerformerAttention.step: expected the state of a performer layer, got '${state.kind}'`,
      );
    return { context: performerStep(state, this.layer.weights[PROJECTION_WEIGHT], q1, k1, v1) };
  }
  dispose(): void {
    this.layer.dispose();
  }
}

export function createAttention(
  kind: AttentionKind,
  config: AttentionConfig,
  opts: CreateAttentionOptions = {},
): AttentionModule {
  switch (kind) {
    case 'dense':
      return new DenseAttention(config);
    case 'performer': {
      if (config.nbFeatureFactor === undefined)
        throw new TypeError("createAttention('performer'): config needs nbFeatureFactor");
      const pc = {
        causal: config.causal,
        heads: config.heads,
        headDim: config.headDim,
        nbFeatureFactor: config.nbFeatureFactor,
      };
      return new PerformerModule(
        opts.weights
          ? PerformerAttention.fromWeights(pc, opts.weights)
          : PerformerAttention.create(pc, { seed: opts.seed ?? 0, backend: opts.backend, dtype: opts.dtype }),
      );
    }
    case 'sea': {
      for (const key of ['predictorLength', 'k', 'nbFeatureFactor'] as const) {
        if (config[key] === undefined) throw new TypeError(`createAttention('sea'): config needs ${key}`);
      }
      const sc = config as SeaAttentionConfig;
      return opts.weights
        ? SeaAttention.fromWeights(sc, opts.weights)
        : SeaAttention.create(sc, { seed: opts.seed ?? 0, backend: opts.backend, dtype: opts.dtype });
    }
    default:
      throw new RangeError(
        `createAttention: unknown kind '${String(kind)}'; expected dense, performer or sea`,
      );
  }
}
