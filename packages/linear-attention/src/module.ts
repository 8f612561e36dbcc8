/**
 * `PerformerAttention`: the Performer as a standalone attention layer (the paper's Performer
 * baseline, and the estimator SEA builds on). Owns the projection W as its only weight.
 */
import {
  type Backend,
  cast,
  currentBackend,
  type DType,
  DTypeError,
  fmt,
  isFloat,
  Rng,
  ShapeError,
  type Tensor,
  tensor,
  tidy,
  transpose,
  where,
} from '@sea/tensor';
import { performerAttention } from './performer.js';
import { orthogonalRandomProjection, performerFeatureCount } from './projection.js';

export interface PerformerAttentionConfig {
  causal: boolean;
  heads: number;
  headDim: number;
  /** performer_nb_feature_factor: m = ⌊D·ln D / nbf⌋ (OPT 8, BERT 1). */
  nbFeatureFactor: number;
}

export interface PerformerInitOptions {
  seed: number;
  backend?: Backend;
  /**
   * The projection's float dtype (default float32): bfloat16/float16 round the float32 draw once;
   * q, k, v must then be of this dtype too.
   */
  dtype?: DType;
}

/** Weight name of the projection W [m, D] (official checkpoint: `performer.projection_matrix`). */
export const PROJECTION_WEIGHT = 'performer.projection';

export class PerformerAttention {
  readonly features: number;

  private constructor(
    readonly config: Readonly<PerformerAttentionConfig>,
    readonly weights: Record<string, Tensor>,
  ) {
    this.features = weights[PROJECTION_WEIGHT].shape[0];
  }

  /** Draws W from `seed` (same seed → same W) and uploads it. */
  static create(config: PerformerAttentionConfig, opts: PerformerInitOptions): PerformerAttention {
    validateConfig(config);
    const m = performerFeatureCount(config.headDim, config.nbFeatureFactor);
    const w = orthogonalRandomProjection(m, config.headDim, new Rng(opts.seed));
    const backend = opts.backend ?? currentBackend();
    const dtype = opts.dtype ?? 'float32';
    if (!isFloat(dtype))
      throw new DTypeError(`PerformerAttention.create: dtype must be a float dtype, got ${dtype}`);
    const w32 = tensor(w, [m, config.headDim], { backend, dtype: 'float32' });
    const projection = (dtype === 'float32' ? w32 : cast(w32, dtype)).keep();
    if (projection !== w32) w32.dispose();
    return new PerformerAttention({ ...config }, { [PROJECTION_WEIGHT]: projection });
  }

  /** Wraps an existing projection (e.g. read from a checkpoint); the layer takes ownership. */
  static fromWeights(config: PerformerAttentionConfig, weights: Record<string, Tensor>): PerformerAttention {
    validateConfig(config);
    const w = weights[PROJECTION_WEIGHT];
    if (!w)
      throw new ShapeError(`PerformerAttention: missing weight '${PROJECTION_WEIGHT}' [m,${config.headDim}]`);
    if (w.rank !== 2 || w.shape[1] !== config.headDim) {
      throw new ShapeError(
        `PerformerAttention: expected '${PROJECTION_WEIGHT}' of shape [m,${config.headDim}], got ${fmt(w.shape)}`,
      );
    }
    if (!isFloat(w.dtype))
      throw new DTypeError(
        `PerformerAttention: '${PROJECTION_WEIGHT}' must be a float dtype, got ${w.dtype}`,
      );
    return new PerformerAttention({ ...config }, { [PROJECTION_WEIGHT]: w });
  }

  /**
   * q, k, v [B, H, T, D] float32 (OPT passes q already × D^(-1/2), BERT passes it unscaled) →
   * context [B, T, H·D]. `keyValid` bool [B, T] zeroes V at pad positions; keys are not masked
   * (docs/algorithm.md §3 quirk), so pad keys still add to the denominator.
   */
  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: { keyValid?: Tensor } = {},
  ): Promise<{ context: Tensor }> {
    const { heads: H, headDim: D } = this.config;
    for (const [t, n] of [
      [q, 'q'],
      [k, 'k'],
      [v, 'v'],
    ] as const) {
      if (t.rank !== 4 || t.shape[1] !== H || t.shape[3] !== D) {
        throw new ShapeError(
          `PerformerAttention.forward: expected ${n} of shape [B,${H},T,${D}], got ${fmt(t.shape)}`,
        );
      }
    }
    const [B, , T] = q.shape;
    const kv = opts.keyValid;
    if (kv && (kv.dtype !== 'bool' || kv.rank !== 2 || kv.shape[0] !== B || kv.shape[1] !== k.shape[2])) {
      throw new ShapeError(
        `PerformerAttention.forward: expected keyValid bool [${B},${k.shape[2]}], got ${kv.dtype} ${fmt(kv.shape)}`,
      );
    }
    const context = tidy(() => {
      const vm = kv ? where(kv.reshape([B, 1, k.shape[2], 1]), v, 0) : v;
      const out = performerAttention(q, k, vm, {
        causal: this.config.causal,
        projection: this.weights[PROJECTION_WEIGHT],
      });
      return transpose(out, [0, 2, 1, 3]).reshape([B, T, H * D]);
    });
    return { context };
  }

  dispose(): void {
    for (const w of Object.values(this.weights)) w.dispose();
  }
}

function validateConfig(c: PerformerAttentionConfig): void {
  for (const key of ['heads', 'headDim'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) {
      throw new RangeError(`PerformerAttention: ${key} must be a positive integer, got ${c[key]}`);
    }
  }
  if (typeof c.causal !== 'boolean')
    throw new TypeError(`PerformerAttention: causal must be a boolean, got ${c.causal}`);
}
