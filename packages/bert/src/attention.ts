/**
 * Attention per layer, chosen by name: exact softmax attention ('dense', in this package) or a
 * module from @sea/sparse-attention ('performer', 'sea'), all behind one `forward(q, k, v)`.
 */
import { type Backend, matmul, mul, softmax, type Tensor, transpose } from '@sea/tensor';
import { ModelLoadError } from './errors.js';

export type AttentionKind = 'dense' | 'performer' | 'sea';
/** One kind for every layer, or a kind per layer index. */
export type AttentionChoice = AttentionKind | ((layer: number) => AttentionKind);

export interface AttentionForwardOptions {
  /** bool [B, T]: false at padding. */
  keyValid?: Tensor;
  /** float32 additive mask [B, 1, T, T] (0 or −∞), causal and padding; used by the dense path. */
  additiveMask?: Tensor;
}

/** What a layer needs from an attention method: q, k, v [B, H, T, D] → context [B, T, H·D]. */
export interface AttentionModule {
  forward(q: Tensor, k: Tensor, v: Tensor, opts?: AttentionForwardOptions): Promise<{ context: Tensor }>;
  dispose?(): void;
}

export interface AttentionConfig {
  heads: number;
  headDim: number;
  causal: boolean;
  /** Multiplies q·kᵀ: 1 for OPT (q is pre-scaled by D^-1/2 as in HF), 1/√D for BERT. */
  scoreScale: number;
  [key: string]: unknown;
}

export interface AttentionCreateOptions {
  seed?: number;
  weights?: Readonly<Record<string, Tensor>>;
  backend?: Backend;
}

/** Exact attention: softmax(scale·q·kᵀ + mask)·v, as Hugging Face's eager attention computes it. */
export class ExactAttention implements AttentionModule {
  constructor(readonly scoreScale: number) {}

  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: AttentionForwardOptions = {},
  ): Promise<{ context: Tensor }> {
    const [B, H, T, D] = q.shape;
    const raw = matmul(q, k, { transB: true });
    let scores = raw;
    if (this.scoreScale !== 1) {
      scores = mul(raw, this.scoreScale);
      raw.dispose();
    }
    const p = softmax(scores, opts.additiveMask ?? null);
    scores.dispose();
    const ctx = matmul(p, v);
    p.dispose();
    const t = transpose(ctx, [0, 2, 1, 3]);
    ctx.dispose();
    const context = t.reshape([B, T, H * D]);
    t.dispose();
    return { context };
  }
}

interface SparseAttentionModule {
  createAttention?: (
    kind: AttentionKind,
    config: AttentionConfig,
    opts: AttentionCreateOptions,
  ) => AttentionModule | Promise<AttentionModule>;
}

/** 'dense' → ExactAttention; 'performer' / 'sea' → @sea/sparse-attention's createAttention. */
export async function createLayerAttention(
  kind: AttentionKind,
  config: AttentionConfig,
  opts: AttentionCreateOptions,
): Promise<AttentionModule> {
  if (kind === 'dense') return new ExactAttention(config.scoreScale);
  if (kind !== 'performer' && kind !== 'sea') {
    throw new ModelLoadError(`unknown attention '${String(kind)}': expected 'dense', 'performer' or 'sea'`);
  }
  const mod = (await import('@sea/sparse-attention')) as unknown as SparseAttentionModule;
  if (typeof mod.createAttention !== 'function') {
    throw new ModelLoadError(
      `attention '${kind}' needs createAttention from @sea/sparse-attention, which it does not export yet`,
    );
  }
  return mod.createAttention(kind, config, opts);
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
