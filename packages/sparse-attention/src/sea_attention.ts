/**
 * `SeaAttention`: the whole SEA op for one layer (docs/algorithm.md §1). The estimator (position code,
 * Performer, encoder, scalers, CNN) is @sea/predictor's `estimateAttention`; the projection W is
 * @sea/linear-attention's; this module adds top-k, stretching, sparse attention and mixing.
 */
import { orthogonalRandomProjection, PROJECTION_WEIGHT } from '@sea/linear-attention';
import { validLengths } from '@sea/mask';
import {
  checkPredictorWeights,
  estimateAttention,
  initPredictorWeights,
  predictorWeightSpecs,
} from '@sea/predictor';
import * as sea from '@sea/tensor';
import {
  type Backend,
  type DType,
  DTypeError,
  fmt,
  isFloat,
  Rng,
  ShapeError,
  type Tensor,
} from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import { attendTraining, attendWithEstimate, estimateProbs } from './attend.js';
import {
  predictorConfig,
  type ResolvedSeaConfig,
  resolveSeaConfig,
  type SeaAttentionConfig,
} from './config.js';
import {
  type DecodeState,
  type PrefillOptions,
  type SeaDecodeSettings,
  SeaDecodeState,
  type StepOptions,
  type StepOutput,
  seaPrefill,
  seaStep,
} from './decode.js';
import type { AttentionForwardOptions, AttentionModule, AttentionOutput } from './types.js';
import { checkKeyValid, checkQkv } from './validate.js';

export interface SeaInitOptions {
  seed?: number;
  backend?: Backend;
  /**
   * The weights' float dtype (default float32): bfloat16/float16 round the float32 initialization
   * once; q, k, v must then be of this dtype too.
   */
  dtype?: DType;
}

export class SeaAttention implements AttentionModule {
  readonly kind = 'sea' as const;
  readonly config: Readonly<ResolvedSeaConfig>;

  private constructor(
    config: ResolvedSeaConfig,
    readonly weights: Record<string, Tensor>,
  ) {
    this.config = config;
  }

  /**
   * Fresh weights: the projection W [m, D] from Rng(seed), the predictor (PyTorch default inits)
   * from seed + 1.
   */
  static create(config: SeaAttentionConfig, opts: SeaInitOptions = {}): SeaAttention {
    const c = resolveSeaConfig(config);
    const seed = opts.seed ?? 0;
    const backend = opts.backend ?? sea.currentBackend();
    const w = orthogonalRandomProjection(c.features, c.headDim, new Rng(seed));
    const weights: Record<string, Tensor> = initPredictorWeights(predictorConfig(config), {
      seed: seed + 1,
      backend,
    });
    weights[PROJECTION_WEIGHT] = sea.tensor(w, [c.features, c.headDim], { backend, dtype: 'float32' }).keep();
    const dtype = opts.dtype ?? 'float32';
    if (dtype !== 'float32') {
      if (!isFloat(dtype))
        throw new DTypeError(`SeaAttention.create: dtype must be a float dtype, got ${dtype}`);
      for (const [name, t] of Object.entries(weights)) {
        weights[name] = sea.cast(t, dtype).keep();
        t.dispose();
      }
    }
    return new SeaAttention(c, weights);
  }

  /**
   * Wraps existing weights (e.g. converted from a checkpoint); the layer takes ownership. Every
   * predictor weight and 'performer.projection' [m, D] must be there with its shape, and nothing else.
   */
  static fromWeights(config: SeaAttentionConfig, weights: Record<string, Tensor>): SeaAttention {
    const c = resolveSeaConfig(config);
    const pc = predictorConfig(config);
    const known = new Set([...predictorWeightSpecs(pc).map((s) => s.name), PROJECTION_WEIGHT]);
    for (const name of Object.keys(weights)) {
      if (!known.has(name)) {
        throw new ShapeError(`SeaAttention: unexpected weight '${name}'; expected ${[...known].join(', ')}`);
      }
    }
    const w = weights[PROJECTION_WEIGHT];
    if (!w)
      throw new ShapeError(
        `SeaAttention: missing weight '${PROJECTION_WEIGHT}' [${c.features},${c.headDim}]`,
      );
    if (w.rank !== 2 || w.shape[0] !== c.features || w.shape[1] !== c.headDim) {
      throw new ShapeError(
        `SeaAttention: expected '${PROJECTION_WEIGHT}' of shape [${c.features},${c.headDim}] (nbFeatureFactor ${c.nbFeatureFactor}), got ${fmt(w.shape)}`,
      );
    }
    if (!isFloat(w.dtype))
      throw new DTypeError(`SeaAttention: '${PROJECTION_WEIGHT}' must be a float dtype, got ${w.dtype}`);
    checkPredictorWeights(pc, weights);
    return new SeaAttention(c, { ...weights });
  }

  /** Trainable parameters per layer; the projection W is a buffer and not counted (docs/algorithm.md §4c: OPT-125m 191,070). */
  parameterCount(): number {
    let n = 0;
    for (const [name, w] of Object.entries(this.weights)) if (name !== PROJECTION_WEIGHT) n += w.size;
    return n;
  }

  /**
   * q, k, v [B,H,T,D] float32 (OPT: q already × D^(-1/2)) → context [B,T,H·D]. `keyValid` bool [B,T]
   * marks right padding (bidirectional; causal rows past L_b are treated as padded too).
   */
  async forward(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: AttentionForwardOptions = {},
  ): Promise<AttentionOutput> {
    const c = this.config;
    const [B, , T] = checkQkv('SeaAttention.forward', q, k, v, c.heads, c.headDim);
    checkKeyValid('SeaAttention.forward', opts.keyValid, B, T);
    if (c.causal) {
      const P = c.maxPositions ?? this.weights.position?.shape[0];
      if (P !== undefined && T > P) {
        throw new ShapeError(
          `SeaAttention.forward: T = ${T} exceeds the causal position table (${P} rows, maxPositions)`,
        );
      }
    }
    const path = opts.path ?? c.path;
    if (path !== 'sparse' && path !== 'dense')
      throw new RangeError(`SeaAttention.forward: path must be 'sparse' or 'dense', got '${path}'`);
    const weights = opts.weights ? this.checkOverride(opts.weights) : this.weights;
    if (opts.returnTraining && path !== 'dense') {
      throw new RangeError("SeaAttention.forward: returnTraining needs path 'dense' (the training path)");
    }
    if (opts.fixedMask && !opts.returnTraining) {
      throw new RangeError('SeaAttention.forward: fixedMask is used only with returnTraining');
    }
    let lengths: Int32Array | undefined;
    if (opts.keyValid && opts.validLengths) {
      const given = opts.validLengths;
      if (
        given.length !== B ||
        !Array.prototype.every.call(given, (n: number) => Number.isInteger(n) && n >= 0 && n <= T)
      )
        throw new ShapeError(
          `SeaAttention.forward: validLengths must be ${B} whole numbers in [0, ${T}], got [${Array.from(given)}]`,
        );
      lengths = Int32Array.from(given);
    } else if (opts.keyValid) lengths = await validLengths(opts.keyValid);
    const settings = {
      causal: c.causal,
      k: c.k,
      kOversample: c.kOversample,
      topkMode: c.topkMode,
      scoreScale: c.scoreScale,
      lengths,
    };
    return sea.tidyAsync(async () => {
      const est = estimateAttention(predictorConfig(c), weights, {
        q,
        k,
        v,
        projection: weights[PROJECTION_WEIGHT],
        keyValid: opts.keyValid,
      });
      // partial_attention_scaler off: the sparse softmax is used as is (s_prob ≡ 1)
      if (!c.partialAttentionScaler)
        est.sProb = sea.ones(est.sProb.shape, { dtype: est.sProb.dtype, backend: est.sProb.backend });
      const probs = estimateProbs(est.logits, lengths);
      let out: AttentionOutput;
      if (opts.returnTraining) {
        // the dense path with the docs/algorithm.md §9a training outputs (Â↑, S, masks)
        const res = await attendTraining(
          q,
          k,
          v,
          { ...est, probs },
          { ...settings, fixedMask: opts.fixedMask },
        );
        out = { context: res.context, training: res.training };
        if (opts.returnMask) out.mask = wrap(res.training.mask.backend, res.training.mask);
      } else {
        const { sProb, sMix } = est;
        out = await attendWithEstimate(
          q,
          k,
          v,
          { probs, sProb, sMix },
          { ...settings, path, returnMask: opts.returnMask },
        );
      }
      if (opts.returnEstimate) out.estimate = probs;
      return out;
    });
  }

  /**
   * Causal only: the whole prompt on the sparse path (q, k, v [B,H,T,D]; `lengths` for left
   * padding) → its context [B,T,H·D] and the decoding state (estimator state, Σv, K/V cache).
   */
  async prefill(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    opts: PrefillOptions = {},
  ): Promise<{ context: Tensor; state: DecodeState }> {
    const s = this.decodeSettings('prefill');
    const [, , T] = checkQkv('SeaAttention.prefill', q, k, v, this.config.heads, this.config.headDim);
    const P = this.weights.position?.shape[0];
    if (P !== undefined && T > P) {
      throw new ShapeError(
        `SeaAttention.prefill: T = ${T} exceeds the causal position table (${P} rows, maxPositions)`,
      );
    }
    return seaPrefill(s, q, k, v, opts);
  }

  /**
   * One new row per sequence (q1, k1, v1 [B,H,1,D]) → its context [B,1,H·D] (and, on request, its
   * Â row and its FlatCSR mask row); equals the sparse forward's row at that position.
   */
  async step(
    state: DecodeState,
    q1: Tensor,
    k1: Tensor,
    v1: Tensor,
    opts: StepOptions = {},
  ): Promise<StepOutput> {
    if (!(state instanceof SeaDecodeState))
      throw new TypeError(`SeaAttention.step: expected the state of a SEA layer, got '${state.kind}'`);
    return seaStep(this.decodeSettings('step'), state, q1, k1, v1, opts);
  }

  private decodeSettings(op: string): SeaDecodeSettings {
    const c = this.config;
    if (!c.causal) throw new RangeError(`SeaAttention.${op}: decoding needs a causal layer`);
    return {
      predictor: predictorConfig(c),
      weights: this.weights,
      projection: this.weights[PROJECTION_WEIGHT],
      k: c.k,
      scoreScale: c.scoreScale,
      attend: (q, k, v, est) =>
        sea.tidyAsync(async () => {
          const probs = estimateProbs(est.logits, undefined);
          const res = await attendWithEstimate(
            q,
            k,
            v,
            { probs, sProb: est.sProb, sMix: est.sMix },
            { causal: true, k: c.k, topkMode: c.topkMode, scoreScale: c.scoreScale, path: 'sparse' },
          );
          return res.context;
        }),
    };
  }

  /** Names and shapes of per-call weights must match the layer's own. */
  private checkOverride(w: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
    for (const [name, own] of Object.entries(this.weights)) {
      const t = w[name];
      if (!t)
        throw new ShapeError(`SeaAttention.forward: weights override lacks '${name}' ${fmt(own.shape)}`);
      if (t.rank !== own.rank || t.shape.some((d, i) => d !== own.shape[i])) {
        throw new ShapeError(
          `SeaAttention.forward: weights override '${name}' has shape ${fmt(t.shape)}, expected ${fmt(own.shape)}`,
        );
      }
    }
    for (const name of Object.keys(w)) {
      if (!(name in this.weights)) throw new ShapeError(`SeaAttention.forward: unexpected weight '${name}'`);
    }
    return { ...w };
  }

  dispose(): void {
    for (const w of Object.values(this.weights)) w.dispose();
  }
}
