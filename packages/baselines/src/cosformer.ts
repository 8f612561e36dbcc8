/**
 * cosFormer (Qin et al. 2022) as the SEA paper's baseline runs it: the official repository wraps its
 * `CosformerAttention` around the model's projected q, k, v (whole width H·D, `has_outproj=False`),
 * so the module has its own q/k/v linear layers (trained with the SEA modules), ReLU feature maps on
 * q and k, the cos re-weighting q_i·k_j·cos(π/2·(i − j)/M) written as [q·sin, q·cos]·[k·sin, k·cos]
 * with angles π/2·(1…T)/M, M = T, and the linear-attention normaliser clamped at 1e-6; causal for
 * OPT (prefix sums), bidirectional for BERT. Padded keys are zeroed in k and v (right padding).
 *
 * The causal sums are computed as the masked product (q'·k'ᵀ ⊙ tril)·v, which is the official
 * `left_product`: equal to its prefix-sum form, and at T = 2048 with 2D = 128 smaller in memory
 * than the per-position outer products (T² vs T·2D·D per head).
 */

import type { AttentionForwardOptions, AttentionModule, AttentionOutput } from '@sea/sparse-attention';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';

export interface CosformerConfig {
  causal: boolean;
  heads: number;
  headDim: number;
}

/** The clamp of the normaliser (the official forward's eps). */
export const COSFORMER_EPS = 1e-6;

/** Names of the module's tensors (the SEA weights-file naming puts them under `….sea.`). */
export const COSFORMER_WEIGHTS = [
  'cosformer.q_proj.weight',
  'cosformer.q_proj.bias',
  'cosformer.k_proj.weight',
  'cosformer.k_proj.bias',
  'cosformer.v_proj.weight',
  'cosformer.v_proj.bias',
] as const;

export class CosformerAttention implements AttentionModule {
  readonly kind = 'cosformer' as const;

  private constructor(
    readonly config: CosformerConfig,
    readonly weights: Record<string, Tensor>,
  ) {}

  /** PyTorch nn.Linear's default initialisation (weights and biases uniform in ±1/√(H·D)), seeded. */
  static create(
    config: CosformerConfig,
    opts: { seed?: number; backend?: sea.Backend; dtype?: sea.DType } = {},
  ): CosformerAttention {
    const C = config.heads * config.headDim;
    const rng = new sea.Rng((opts.seed ?? 0) >>> 0);
    const bound = 1 / Math.sqrt(C);
    const w: Record<string, Tensor> = {};
    for (const n of COSFORMER_WEIGHTS) {
      const shape = n.endsWith('weight') ? [C, C] : [C];
      const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.uniform() - 1) * bound;
      w[n] = sea
        .tensor(a, shape, {
          ...(opts.backend ? { backend: opts.backend } : {}),
          ...(opts.dtype ? { dtype: opts.dtype } : {}),
        })
        .keep();
    }
    return new CosformerAttention(config, w);
  }

  /** A module over existing tensors (it takes ownership). */
  static fromWeights(config: CosformerConfig, weights: Record<string, Tensor>): CosformerAttention {
    const C = config.heads * config.headDim;
    for (const n of COSFORMER_WEIGHTS) {
      const t = weights[n];
      const shape = n.endsWith('weight') ? [C, C] : [C];
      if (!t) throw new RangeError(`CosformerAttention: missing weight '${n}' [${shape}]`);
      if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new RangeError(`CosformerAttention: '${n}' is [${t.shape}], expected [${shape}]`);
      }
    }
    const extra = Object.keys(weights).filter((n) => !(COSFORMER_WEIGHTS as readonly string[]).includes(n));
    if (extra.length) throw new RangeError(`CosformerAttention: unexpected weights ${extra.join(', ')}`);
    return new CosformerAttention(config, weights);
  }

  parameterCount(): number {
    return Object.values(this.weights).reduce((a, t) => a + t.size, 0);
  }

  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: AttentionForwardOptions = {},
  ): Promise<AttentionOutput> {
    const { heads: H, headDim: D, causal } = this.config;
    for (const [name, t] of [
      ['q', q],
      ['k', k],
      ['v', v],
    ] as const) {
      if (
        t.rank !== 4 ||
        t.shape[1] !== H ||
        t.shape[3] !== D ||
        t.shape[0] !== q.shape[0] ||
        t.shape[2] !== q.shape[2]
      ) {
        throw new RangeError(
          `CosformerAttention: ${name} must be [B, ${H}, T, ${D}] like q [${q.shape}], got [${t.shape}]`,
        );
      }
    }
    if (opts.layout === 'bthd') throw new RangeError("CosformerAttention: takes layout 'bhtd' only");
    const [B, , T] = q.shape;
    const C = H * D;
    const W = { ...this.weights, ...(opts.weights ?? {}) };
    const backend = q.backend;
    const dtype = q.dtype;
    // angles π/2·i/M for i = 1…T, M = T
    const sin = new Float64Array(T);
    const cos = new Float64Array(T);
    for (let i = 0; i < T; i++) {
      const a = ((Math.PI / 2) * (i + 1)) / T;
      sin[i] = Math.sin(a);
      cos[i] = Math.cos(a);
    }
    let keyMask: Tensor | null = null;
    if (opts.keyValid) {
      if (opts.keyValid.rank !== 2 || opts.keyValid.shape[0] !== B || opts.keyValid.shape[1] !== T) {
        throw new RangeError(
          `CosformerAttention: keyValid must be [${B}, ${T}], got [${opts.keyValid.shape}]`,
        );
      }
      keyMask = sea.cast(opts.keyValid, dtype).reshape([B, T, 1]);
    }
    const context = sea.tidy(() => {
      const merge = (t: Tensor) => sea.transpose(t, [0, 2, 1, 3]).reshape([B, T, C]);
      const split = (t: Tensor) => sea.transpose(t.reshape([B, T, H, D]), [0, 2, 1, 3]);
      const lin = (x: Tensor, n: 'q' | 'k' | 'v') =>
        sea.linear(x, W[`cosformer.${n}_proj.weight`], W[`cosformer.${n}_proj.bias`]);
      const q1 = sea.relu(lin(merge(q), 'q'));
      let k1 = sea.relu(lin(merge(k), 'k'));
      let v1 = lin(merge(v), 'v');
      if (keyMask) {
        k1 = sea.mul(k1, keyMask);
        v1 = sea.mul(v1, keyMask);
      }
      const s = sea.tensor(Float64Array.from(sin), [T, 1], { backend, dtype });
      const c = sea.tensor(Float64Array.from(cos), [T, 1], { backend, dtype });
      const reweight = (x: Tensor) => {
        const h = split(x); // [B, H, T, D]
        return sea.concat([sea.mul(h, s), sea.mul(h, c)], -1); // [B, H, T, 2D]
      };
      const q2 = reweight(q1);
      const k2 = reweight(k1);
      let w = sea.matmul(q2, k2, { transB: true }); // [B, H, T, T]
      if (causal) {
        // lower-triangular ones made on the device (no T² host array uploaded per layer)
        const i = sea.arange(0, T, { backend }).reshape([T, 1]);
        const j = sea.arange(0, T, { backend }).reshape([1, T]);
        w = sea.mul(w, sea.cast(sea.lessEqual(j, i), dtype));
      }
      const denom = sea.maximum(sea.sum(w, -1, true), COSFORMER_EPS);
      const out = sea.matmul(sea.div(w, denom), split(v1)); // [B, H, T, D]
      return merge(out);
    });
    keyMask?.dispose();
    return { context };
  }

  dispose(): void {
    for (const t of Object.values(this.weights)) t.dispose();
  }
}
