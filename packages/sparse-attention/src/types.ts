/** What every attention layer here takes and returns, so model adapters can pick one per layer. */
import type { CsrMatrix, Tensor } from '@sea/tensor';
import type { DecodeState, PrefillOptions, StepOptions, StepOutput } from './decode.js';

export type AttentionPath = 'dense' | 'sparse';

export interface AttentionForwardOptions {
  /** bool [B, T]: false at pad tokens (right padding). */
  keyValid?: Tensor;
  /**
   * SEA only: each row's valid length (its leading true entries of `keyValid`) when the caller knows
   * it on the host; spares reading `keyValid` back, a wait for the device, on every call. It must
   * describe `keyValid`.
   */
  validLengths?: ArrayLike<number>;
  /**
   * Dense only: 'bthd' when q, k, v come as [B,T,H,D] (a projection reshaped to heads, not
   * transposed); a fused kernel then reads them in place. Default 'bhtd' ([B,H,T,D]).
   */
  layout?: 'bhtd' | 'bthd';
  /** SEA only: the dense reference path or the FlatCSR path (default: the layer's config). */
  path?: AttentionPath;
  /** SEA only: also return Â [B, H, T, K] (softmax probabilities, padded rows zero). */
  returnEstimate?: boolean;
  /** SEA only: also return the attention mask (CsrMatrix on the sparse path, bool [B,H,T,T] on the dense path). */
  returnMask?: boolean;
  /**
   * SEA only, dense path: also return what the per-layer distillation loss needs (docs/algorithm.md §9a) in
   * `training`. Every differentiable output is built from @sea/tensor ops, so a gradient tape sees it.
   */
  returnTraining?: boolean;
  /**
   * SEA only, with `returnTraining`: use this keep mask (bool [B,H,T,T], e.g. an earlier
   * `training.mask`) instead of selecting one, so the mask can be held fixed (gradient checks).
   */
  fixedMask?: Tensor;
  /**
   * SEA only: use these weights (same names and shapes as the layer's `weights`) instead of the
   * layer's own for this call, e.g. a trainer's current parameters. float64 weights with float64
   * q, k, v are accepted (gradient checks).
   */
  weights?: Readonly<Record<string, Tensor>>;
}

/** The dense path's training outputs (docs/algorithm.md §9a), all [B,H,T,T] unless noted; the caller disposes them. */
export interface SeaTrainingOutputs {
  /** Â logits [B,H,T,K] (before the softmax over K). */
  estimateLogits: Tensor;
  /** Â↑: the logits stretched to T×T with the §6 cell map; FP_MIN past each row's visible keys. */
  estimateLogitsStretched: Tensor;
  /** S = Q·Kᵀ·scoreScale, unmasked (combine with `logitMask`). */
  studentScores: Tensor;
  /** Additive mask [B,1,T,T]: 0 where key j is visible to row t (causal, key padding), FP_MIN elsewhere. */
  logitMask: Tensor;
  /** The selected keys, bool [B,H,T,T] (not differentiated; pass back as `fixedMask` to hold it fixed). */
  mask: Tensor;
  /** s_prob and s_mix [B,H,T]. */
  sProb: Tensor;
  sMix: Tensor;
}

export interface AttentionOutput {
  /** [B, T, H·D], head-major per token, ready for the model's output projection. */
  context: Tensor;
  estimate?: Tensor;
  mask?: CsrMatrix | Tensor;
  /** SEA dense path with `returnTraining`; `context` is then the mixed C_sea before out_proj. */
  training?: SeaTrainingOutputs;
}

export interface AttentionModule {
  readonly kind: 'dense' | 'performer' | 'sea' | 'reformer' | 'cosformer';
  readonly weights: Record<string, Tensor>;
  /** Trainable parameters (buffers such as the Performer projection are not counted). */
  parameterCount(): number;
  forward(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionForwardOptions): Promise<AttentionOutput>;
  /**
   * Causal layers: the whole prompt at once (q, k, v [B,H,T,D]; SEA runs its sparse path), returning
   * its context [B,T,H·D] and the decoding state after it.
   */
  prefill?(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts?: PrefillOptions,
  ): Promise<{ context: Tensor; state: DecodeState }>;
  /** One new row per sequence (q1, k1, v1 [B,H,1,D]) → its context [B,1,H·D]; the state moves on. */
  step?(state: DecodeState, q1: Tensor, k1: Tensor, v1: Tensor, opts?: StepOptions): Promise<StepOutput>;
  dispose(): void;
}
