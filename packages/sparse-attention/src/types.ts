/** What every attention layer here takes and returns, so model adapters can pick one per layer. */
import type { CsrMatrix, Tensor } from '@sea/tensor';

export type AttentionPath = 'dense' | 'sparse';

export interface AttentionForwardOptions {
  /** bool [B, T]: false at pad tokens (right padding). */
  keyValid?: Tensor;
  /** SEA only: the dense reference path or the FlatCSR path (default: the layer's config). */
  path?: AttentionPath;
  /** SEA only: also return Â [B, H, T, K] (softmax probabilities, padded rows zero). */
  returnEstimate?: boolean;
  /** SEA only: also return the attention mask (CsrMatrix on the sparse path, bool [B,H,T,T] on the dense path). */
  returnMask?: boolean;
}

export interface AttentionOutput {
  /** [B, T, H·D], head-major per token, ready for the model's output projection. */
  context: Tensor;
  estimate?: Tensor;
  mask?: CsrMatrix | Tensor;
}

export interface AttentionModule {
  readonly kind: 'dense' | 'performer' | 'sea';
  readonly weights: Record<string, Tensor>;
  /** Trainable parameters (buffers such as the Performer projection are not counted). */
  parameterCount(): number;
  forward(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionForwardOptions): Promise<AttentionOutput>;
  dispose(): void;
}
