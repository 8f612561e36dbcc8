/**
 * Plain language-model training of an OPT (from scratch or from given weights) on the same loop as
 * distillation (DistillerCore): next-token cross-entropy only, every parameter at lr (one group),
 * linear warmup and cosine decay, gradient accumulation, activation checkpointing, windows streamed
 * from a token file, checkpoints and bit-identical resume. `sea train` (and `sea distill --attention
 * dense` without a teacher) run it, so a teacher and its students come out of one trainer.
 */
import {
  type OptConfig,
  OptForCausalLM,
  type OptOutput,
  optWeightSpecs,
  parseOptConfig,
  randomWeights,
  uploadWeights,
} from '@sea/opt';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { loadCheckpoint } from './checkpoint.js';
import { type DistillOptions, OptWindows, windowPerplexity } from './distill.js';
import {
  type CoreDistillOptions,
  DistillerCore,
  mixedPrecisionModel,
  studentSeaConfig,
} from './distill_core.js';
import { TrainError } from './errors.js';
import { causalLmLoss, type ModelLoss } from './losses.js';
import { checkpoint } from './tape.js';
import type { TokenSource } from './tokens.js';

export interface LmTrainOptions extends CoreDistillOptions {
  seqLen: number;
  evalWindows: number;
  evalFraction: number;
  /** Steps of linear warmup from 0 to lr. */
  warmup: number;
  /** 'cosine': after warmup, lr decays to minLrRatio·lr at `totalSteps`; 'constant': stays at lr. */
  schedule: 'cosine' | 'constant';
  totalSteps: number;
  minLrRatio: number;
  /** The Hugging Face config.json the model was built from (saved, so a resume rebuilds it). */
  hfConfig: Record<string, unknown>;
}

/** The shape of Hugging Face's facebook/opt-125m (12 layers, hidden 768, 12 heads, FFN 3072, T 2048). */
export const OPT_125M_CONFIG: Record<string, unknown> = {
  model_type: 'opt',
  architectures: ['OPTForCausalLM'],
  vocab_size: 50272,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  ffn_dim: 3072,
  max_position_embeddings: 2048,
  word_embed_proj_dim: 768,
  do_layer_norm_before: true,
  activation_function: 'relu',
  enable_bias: true,
  layer_norm_elementwise_affine: true,
  layernorm_eps: 1e-5,
  pad_token_id: 1,
  bos_token_id: 2,
  eos_token_id: 2,
  tie_word_embeddings: true,
};

export const DEFAULT_LM_TRAIN: Omit<LmTrainOptions, 'hfConfig'> = {
  attention: 'dense',
  k: 64,
  predictorLength: 256,
  nbf: 8,
  seqLen: 2048,
  batch: 1,
  lr: 6e-4,
  baseScale: 1,
  seaScale: 1,
  maxGradNorm: 1,
  seed: 0,
  evalWindows: 8,
  evalFraction: 0.01,
  warmup: 0,
  schedule: 'constant',
  totalSteps: 0,
  minLrRatio: 0.1,
};

/**
 * GPT-2/OPT-style initial weights for `config` (`randomWeights`): linear and embedding weights
 * normal(0, 0.02), biases 0, LayerNorm weights 1 (seeded; names as the model's checkpoint keeps them).
 */
export function initOptWeights(config: OptConfig, seed: number, backend?: sea.Backend): Map<string, Tensor> {
  return uploadWeights(randomWeights(optWeightSpecs(config, 'model.'), seed >>> 0), backend);
}

export class LmTrainer extends DistillerCore<OptForCausalLM, Tensor, OptOutput, LmTrainOptions> {
  readonly windows: OptWindows;

  private constructor(
    model: OptForCausalLM,
    tokens: Int32Array | TokenSource,
    opts: LmTrainOptions,
    masters?: Map<string, Tensor>,
  ) {
    // the model is both the trained network and the source of config/backend; the trainer owns it
    // (and, with a 16-bit compute dtype, the float32 master weights apart from the model's tensors)
    super(model, model, opts, masters);
    this.windows = new OptWindows(tokens, opts);
  }

  /** The model over `weights` (float32) in the compute dtype, with the masters apart when it is 16-bit. */
  private static build(
    config: OptConfig,
    weights: Map<string, Tensor>,
    opts: LmTrainOptions,
    backend?: sea.Backend,
  ): Promise<{ model: OptForCausalLM; masters?: Map<string, Tensor> }> {
    return mixedPrecisionModel(weights, opts.computeDtype, (w, dtype) =>
      OptForCausalLM.fromWeights(config, w, {
        ...(dtype ? { dtype } : {}),
        ...(backend ? { backend } : {}),
        attention: opts.attention,
        seaConfig: studentSeaConfig(opts),
        seed: opts.seed + 1,
      }),
    );
  }

  get model(): OptForCausalLM {
    return this.student;
  }

  private static check(config: OptConfig, opts: LmTrainOptions): void {
    if (opts.seqLen > config.maxPositionEmbeddings) {
      throw new TrainError(
        `--seq-len ${opts.seqLen} exceeds the model's max_position_embeddings ${config.maxPositionEmbeddings}`,
      );
    }
  }

  /**
   * Trains `hfConfig`'s model from `weights` (default: {@link initOptWeights} from seed) with
   * `attention` in every layer (dense for a teacher).
   */
  static async create(
    hfConfig: Record<string, unknown>,
    tokens: Int32Array | TokenSource,
    o: Partial<LmTrainOptions> = {},
    weights?: Map<string, Tensor>,
    backend?: sea.Backend,
  ): Promise<LmTrainer> {
    const opts: LmTrainOptions = { ...DEFAULT_LM_TRAIN, ...o, hfConfig };
    const config = parseOptConfig(hfConfig);
    LmTrainer.check(config, opts);
    const { model, masters } = await LmTrainer.build(
      config,
      weights ?? initOptWeights(config, opts.seed, backend),
      opts,
      backend,
    );
    return new LmTrainer(model, tokens, opts, masters);
  }

  /** Rebuilds a run from `dir` (latest checkpoint); the next step equals the uninterrupted run's. */
  static async resume(
    dir: string,
    tokens: Int32Array | TokenSource,
    backend?: sea.Backend,
  ): Promise<LmTrainer> {
    const c = await loadCheckpoint(dir, backend);
    const saved = c.state.options as LmTrainOptions | undefined;
    if (!saved?.hfConfig)
      throw new TrainError(`${dir}: not a language-model training run (no options.hfConfig)`);
    const opts = { ...DEFAULT_LM_TRAIN, ...saved };
    const config = parseOptConfig(opts.hfConfig);
    const weights = new Map(Object.entries({ ...c.model, ...c.sea }));
    const { model, masters } = await LmTrainer.build(config, weights, opts, backend);
    return new LmTrainer(model, tokens, opts, masters).restore(c);
  }

  protected override teacherForward(): Promise<null> {
    return Promise.resolve(null);
  }

  protected makeBatch(s: number, micro: number): Tensor {
    return this.windows.ids(s, micro, this.student.backend);
  }

  protected batchTensors(ids: Tensor): Tensor[] {
    return [ids];
  }

  protected async run(
    model: OptForCausalLM,
    ids: Tensor,
    parameters?: ReadonlyMap<string, Tensor>,
  ): Promise<OptOutput> {
    // with a 16-bit compute dtype, `parameters` are the masters' casts (DistillerCore.computeParameters)
    return model.forward(ids, {
      parameters,
      ...(parameters && this.opts.checkpointLayers ? { checkpoint } : {}),
    });
  }

  protected loss(_teacher: OptOutput | null, out: OptOutput, ids: Tensor): ModelLoss {
    const logits = out.logits.dtype === 'float32' ? out.logits : sea.cast(out.logits, 'float32');
    const ce = causalLmLoss(logits, ids);
    const zero = sea.mul(ce, 0);
    return {
      total: ce,
      ce,
      hidden: zero,
      logitsKl: zero,
      layer: zero,
      approx: zero,
      prob: zero,
      context: zero,
    };
  }

  /** Linear warmup over `warmup` steps, then constant or cosine down to minLrRatio at totalSteps. */
  protected override lrScale(s: number): number {
    const o = this.opts;
    if (o.warmup > 0 && s < o.warmup) return (s + 1) / o.warmup;
    if (o.schedule === 'constant' || o.totalSteps <= o.warmup) return 1;
    const p = Math.min(1, (s - o.warmup) / Math.max(1, o.totalSteps - o.warmup));
    return o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * p));
  }

  /** Perplexity on held-out windows (or on `src`). */
  async evalPerplexity(src?: TokenSource): Promise<{ ppl: number; nll: number; windows: number }> {
    const T = this.opts.seqLen;
    const s = src ?? (this.windows.heldOut.length >= T ? this.windows.heldOut : this.windows.train);
    // the model computes in the compute dtype: the masters, cast to it, are what it runs
    return this.withEvalParameters((p) => windowPerplexity(this.student, s, T, this.opts.evalWindows, p));
  }

  override dispose(): void {
    super.dispose();
    this.windows.close();
  }
}

export type { DistillOptions };
