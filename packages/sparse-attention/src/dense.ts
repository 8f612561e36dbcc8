/**
 * `DenseAttention`: exact softmax attention (the teacher's op), with the same forward signature as
 * SeaAttention. Masked scores are −∞, so a query row with no visible key gives a zero context.
 */

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import {
  type DecodeState,
  DenseDecodeState,
  densePrefill,
  denseStep,
  type PrefillOptions,
  type StepOutput,
} from './decode.js';
import type { AttentionForwardOptions, AttentionModule, AttentionOutput } from './types.js';
import { checkKeyValid, checkQkv, positiveInt } from './validate.js';

export interface DenseAttentionConfig {
  causal: boolean;
  heads: number;
  headDim: number;
  /** Multiplies Q·Kᵀ; default 1 when causal (OPT pre-scales Q), 1/√D otherwise (BERT). */
  scoreScale?: number;
}

export function defaultScoreScale(causal: boolean, headDim: number): number {
  return causal ? 1 : 1 / Math.sqrt(headDim);
}

export function checkScoreScale(op: string, s: number | undefined): void {
  if (s !== undefined && !(Number.isFinite(s) && s > 0)) {
    throw new RangeError(`${op}: scoreScale must be a positive finite number, got ${s}`);
  }
}

/**
 * Additive mask [B|1, 1, T, T]: 0 where key j is visible to query t (j ≤ t when causal, and
 * keyValid[b,j]), −∞ elsewhere; null when nothing is masked.
 */
export function denseAttentionMask(
  causal: boolean,
  B: number,
  T: number,
  keyValid: Uint8Array | null,
  backend: sea.Backend,
): Tensor | null {
  if (!causal && !keyValid) return null;
  const nb = keyValid ? B : 1;
  const m = new Float32Array(nb * T * T);
  for (let b = 0; b < nb; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * T;
      for (let j = 0; j < T; j++) {
        if ((causal && j > t) || (keyValid && !keyValid[b * T + j])) m[row + j] = Number.NEGATIVE_INFINITY;
      }
    }
  }
  return sea.tensor(m, [nb, 1, T, T], { backend });
}

/**
 * {@link denseAttentionMask} built by ops on the backend (no host loop, no upload of a T×T array,
 * no read of keyValid): [1,1,T,T] causal, [B,1,1,T] keys only, [B,1,T,T] both; same values.
 */
export function deviceAttentionMask(
  causal: boolean,
  B: number,
  T: number,
  keyValid: Tensor | undefined,
  backend: sea.Backend,
): Tensor | null {
  return sea.attentionMask(causal, B, T, T, keyValid, backend);
}

export class DenseAttention implements AttentionModule {
  readonly kind = 'dense' as const;
  readonly weights: Record<string, Tensor> = {};
  readonly scoreScale: number;

  constructor(readonly config: Readonly<DenseAttentionConfig>) {
    if (typeof config.causal !== 'boolean')
      throw new TypeError(`DenseAttention: causal must be a boolean, got ${config.causal}`);
    positiveInt('DenseAttention', 'heads', config.heads);
    positiveInt('DenseAttention', 'headDim', config.headDim);
    checkScoreScale('DenseAttention', config.scoreScale);
    this.scoreScale = config.scoreScale ?? defaultScoreScale(config.causal, config.headDim);
  }

  parameterCount(): number {
    return 0;
  }

  /**
   * q, k, v [B,H,T,D] (or [B,T,H,D] with `layout: 'bthd'`) float32 → context [B,T,H·D]. `keyValid`
   * masks pad keys (any pattern).
   */
  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: AttentionForwardOptions = {},
  ): Promise<AttentionOutput> {
    const layout = opts.layout ?? 'bhtd';
    const [B, H, T, D] = checkQkv(
      'DenseAttention.forward',
      q,
      k,
      v,
      this.config.heads,
      this.config.headDim,
      layout,
    );
    checkKeyValid('DenseAttention.forward', opts.keyValid, B, T);
    const keyValid = opts.keyValid;
    const context = sea.tidy(() => {
      // one fused kernel where the backend has one (no T×T scores), else matmul · masked softmax · matmul
      const c = sea.attention(q, k, v, {
        scale: this.scoreScale,
        causal: this.config.causal,
        keyValid,
        layout,
      });
      return (layout === 'bthd' ? c : sea.transpose(c, [0, 2, 1, 3])).reshape([B, T, H * D]);
    });
    return { context };
  }

  /** Causal only: the prompt's context and a K/V cache (see decode.ts). */
  async prefill(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: PrefillOptions = {},
  ): Promise<{ context: Tensor; state: DecodeState }> {
    this.checkCausal('prefill');
    checkQkv('DenseAttention.prefill', q, k, v, this.config.heads, this.config.headDim);
    return densePrefill(async (qb, kb, vb) => (await this.forward(qb, kb, vb)).context, q, k, v, opts);
  }

  /** One new row per sequence against the cache. */
  async step(state: DecodeState, q1: Tensor, k1: Tensor, v1: Tensor): Promise<StepOutput> {
    if (!(state instanceof DenseDecodeState))
      throw new TypeError(`DenseAttention.step: expected the state of a dense layer, got '${state.kind}'`);
    return { context: denseStep(state, q1, k1, v1, this.scoreScale) };
  }

  private checkCausal(op: string): void {
    if (!this.config.causal) throw new RangeError(`DenseAttention.${op}: decoding needs a causal layer`);
  }

  dispose(): void {}
}
