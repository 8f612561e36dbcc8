/**
 * OPT causal language model (Hugging Face `OPTForCausalLM`) over @sea/tensor ops, with the
 * attention method of each layer chosen by name. Every config variant HF has: pre- or post-LN,
 * project_in/project_out when word_embed_proj_dim ≠ hidden_size, learned positions offset by 2 and
 * counted from the attention mask (so left padding works), tied or separate LM head, biases and
 * LayerNorm affine parameters on or off.
 */

import {
  applyActivation,
  type ForwardRun,
  type GenerateOptions,
  type GenerateResult,
  generate,
  type IdsInput,
  type LayerCapture,
  type LayerRun,
  type Linear,
  loadTransformer,
  MODEL_FP_MIN,
  ModelInputError,
  type SeaDefaults,
  Transformer,
  type TransformerFamily,
  type TransformerForwardOptions,
  type TransformerLoadOptions,
  type TransformerParts,
  transformerFromWeights,
  type WeightSpec,
} from '@sea/model-common';
import { add, gather, layerNorm, linear, slice, type Tensor, tensor, tidyAsync } from '@sea/tensor';
import { type OptConfig, readOptConfig } from './config.js';

/** SEA settings of the paper's OPT runs (docs/algorithm.md §10): K=256, k=64, nbf=8; `seaConfig` overrides them. */
export const OPT_SEA_DEFAULTS: SeaDefaults = { predictorLength: 256, k: 64, nbFeatureFactor: 8 };

/** HF OPT's learned positions start at index 2 (fairseq's padding offset). */
export const OPT_POSITION_OFFSET = 2;

/**
 * Loading options: backend, attention per layer (default 'dense'), `seaConfig` over
 * OPT_SEA_DEFAULTS, SEA weights (`model.decoder.layers.{i}.self_attn.sea.<name>` tensors; layers
 * without them are initialised from `seed` + i).
 */
export type OptLoadOptions = TransformerLoadOptions;

/**
 * Forward options (see TransformerForwardOptions): attention mask (left and right padding both
 * work with dense attention), hidden states (the embeddings, the input of every later layer, the
 * final output), per-call parameters, distillation capture (dense layers: q·kᵀ + mask, q pre-scaled
 * by D^-1/2), hooks, and the incremental-decoding cache (positions then count from the mask of
 * past and new tokens).
 */
export type OptForwardOptions = TransformerForwardOptions & {
  /** Logits for the last n positions only ([B, n, vocab]; decoding needs 1). Default: all. */
  logitsToKeep?: number;
};

/** One layer's captured attention (OptForwardOptions.captureAttention); the caller disposes the tensors. */
export type OptLayerCapture = LayerCapture;

export interface OptOutput {
  /** [B, T, vocab_size] */
  logits: Tensor;
  /** numHiddenLayers + 1 tensors (see OptForwardOptions.outputHiddenStates); the caller disposes them. */
  hiddenStates?: Tensor[];
  /** With captureAttention: one entry per layer. */
  layers?: OptLayerCapture[];
  /** With captureAttention: the additive mask [B, 1, T, T] (0 visible, FP_MIN not) the logits use. */
  logitMask?: Tensor;
}

/** finfo(float32).min / 2, the additive "masked" value of the SEA dense path and its losses. */
export const OPT_FP_MIN = MODEL_FP_MIN;

/** Name of layer i's SEA/Performer module tensor `name` (the naming of SEA weights files). */
export const seaParameterName = (layer: number, name: string, prefix = 'model.') =>
  `${prefix}decoder.layers.${layer}.self_attn.sea.${name}`;

interface LayerNormWeights {
  gamma: Tensor;
  beta: Tensor;
}

interface OptLayerWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  o: Linear;
  fc1: Linear;
  fc2: Linear;
  attnLn: LayerNormWeights;
  ffnLn: LayerNormWeights;
}

/** OPT as the transformer skeleton sees it. */
export const OPT_FAMILY: TransformerFamily<OptConfig, OptLayerWeights> = {
  className: 'OptForCausalLM',
  architecture: 'OPT',
  prefixes: ['model.', ''],
  probe: 'decoder.embed_tokens.weight',
  seaDefaults: OPT_SEA_DEFAULTS,
  seaPattern: /^(?:model\.)?decoder\.layers\.(\d+)\.self_attn\.sea\.(.+)$/,
  seaName: seaParameterName,
  weightSpecs: optWeightSpecs,
  tooLongHint: (max) => `split it into windows of at most ${max} tokens`,
  attention: (c) => ({
    causal: true,
    heads: c.numAttentionHeads,
    headDim: c.hiddenSize / c.numAttentionHeads,
    scoreScale: 1,
    maxPositions: c.maxPositionEmbeddings,
  }),
  layerWeights(c, get, prefix, i, constant) {
    const p = `${prefix}decoder.layers.${i}`;
    const lin = (name: string): Linear => [get(`${name}.weight`) as Tensor, get(`${name}.bias`) ?? null];
    const ln = (name: string): LayerNormWeights => ({
      gamma: get(`${name}.weight`) ?? constant(c.hiddenSize, 1),
      beta: get(`${name}.bias`) ?? constant(c.hiddenSize, 0),
    });
    return {
      q: lin(`${p}.self_attn.q_proj`),
      k: lin(`${p}.self_attn.k_proj`),
      v: lin(`${p}.self_attn.v_proj`),
      o: lin(`${p}.self_attn.out_proj`),
      fc1: lin(`${p}.fc1`),
      fc2: lin(`${p}.fc2`),
      attnLn: ln(`${p}.self_attn_layer_norm`),
      ffnLn: ln(`${p}.final_layer_norm`),
    };
  },
};

/**
 * OPT causal language model (Hugging Face `OPTForCausalLM`) on the transformer skeleton: OPT's
 * embeddings (learned positions counted from the attention mask), its layer, its final norm,
 * project_out and LM head.
 */
export class OptForCausalLM extends Transformer<OptConfig, OptLayerWeights> {
  private readonly finalLn: LayerNormWeights | null;

  private constructor(parts: TransformerParts<OptConfig, OptLayerWeights>) {
    super(OPT_FAMILY, parts);
    const c = this.config;
    this.finalLn =
      c.doLayerNormBefore && !c.removeFinalLayerNorm
        ? {
            gamma: this.w('final_layer_norm.weight') ?? this.constant(c.hiddenSize, 1),
            beta: this.w('final_layer_norm.bias') ?? this.constant(c.hiddenSize, 0),
          }
        : null;
  }

  /**
   * Builds a model from tensors by Hugging Face name (`model.decoder.…`, or `decoder.…`; `lm_head.weight`
   * when untied), e.g. a trainer's copy of a teacher. Tensors named
   * `model.decoder.layers.{i}.self_attn.sea.<name>` become layer i's SEA/Performer module weights
   * (others are initialised from `seed`). The model takes ownership of every tensor.
   */
  static async fromWeights(
    config: OptConfig,
    weights: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
    opts: Omit<OptLoadOptions, 'seaWeights'> = {},
  ): Promise<OptForCausalLM> {
    return new OptForCausalLM(await transformerFromWeights(OPT_FAMILY, config, weights, opts));
  }

  /** Loads a Hugging Face OPT folder: config.json + model.safetensors (or a sharded index). */
  static async load(dir: string, opts: OptLoadOptions = {}): Promise<OptForCausalLM> {
    const config = await readOptConfig(dir);
    return new OptForCausalLM(await loadTransformer(OPT_FAMILY, config, dir, opts));
  }

  private w(name: string): Tensor | undefined {
    return this.weights.get(`${this.prefix}decoder.${name}`);
  }

  /** Logits for every position, and optionally every hidden state. */
  async forward(inputIds: IdsInput, opts: OptForwardOptions = {}): Promise<OptOutput> {
    return tidyAsync(async () => {
      const run = await this.begin(inputIds, opts);
      const { p: P } = run;
      const body = await this.layerLoop(run, opts);
      let h = body.hidden;
      const c = this.config;
      if (this.finalLn) h = layerNorm(h, P(this.finalLn.gamma), P(this.finalLn.beta), c.layerNormEps);
      const projOut = this.w('project_out.weight');
      if (projOut) h = linear(h, P(projOut));
      const keep = opts.logitsToKeep;
      if (keep !== undefined) {
        if (!Number.isInteger(keep) || keep < 1)
          throw new ModelInputError(`logitsToKeep must be a positive integer, got ${keep}`);
        const [B, T, E] = h.shape;
        if (keep < T) h = slice(h, [0, T - keep, 0], [B, keep, E]);
      }
      const logits = linear(h, P(this.lmHead()));
      const result: OptOutput = { logits };
      if (body.hiddenStates) result.hiddenStates = [...body.hiddenStates, h];
      if (body.layers) {
        result.layers = body.layers;
        result.logitMask = body.logitMask;
      }
      return result;
    });
  }

  /** max_position_embeddings: prompt plus generated tokens fit in it. */
  get maxPositions(): number {
    return this.config.maxPositionEmbeddings;
  }

  /**
   * Generates tokens after `prompt` (ids, or left-padded rows with `attentionMask`): the prompt runs
   * at once (SEA: its sparse path), then one token per step through the layers' decoding state.
   * Greedy by default; temperature / topK / topP sample with a seeded PRNG on the host.
   */
  async generate(
    prompt: readonly number[] | readonly (readonly number[])[],
    opts: GenerateOptions = {},
  ): Promise<GenerateResult> {
    return generate(this, prompt, opts);
  }

  /** Token embeddings (through project_in) plus learned positions counted from the attention mask. */
  protected async embed(run: ForwardRun): Promise<Tensor> {
    const { B, T, pastLength, mask, p: P, backend } = run;
    const S = pastLength + T;
    // positions: cumsum of the mask − 1 (−1 at padding), plus the offset, as HF computes them;
    // with a cache the count runs over the past tokens' mask too
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let s = 0; s < S; s++) {
        const m = mask[b * S + s];
        n += m;
        if (s >= pastLength) pos[b * T + s - pastLength] = (m ? n - 1 : -1) + OPT_POSITION_OFFSET;
      }
    }
    const idsT = tensor(run.ids.values, [B, T], { backend, dtype: 'int32' });
    const posT = tensor(pos, [B, T], { backend, dtype: 'int32' });
    let x = gather(P(this.w('embed_tokens.weight') as Tensor), idsT);
    const projIn = this.w('project_in.weight');
    if (projIn) x = linear(x, P(projIn));
    return add(x, gather(P(this.w('embed_positions.weight') as Tensor), posT));
  }

  /** Pre- or post-LN self-attention and feed-forward blocks, residuals fused into the GEMMs. */
  protected async layer(L: LayerRun<OptLayerWeights>, h: Tensor): Promise<Tensor> {
    const c = this.config;
    const { p: P, weights: W } = L;
    const attnLn = [P(W.attnLn.gamma), P(W.attnLn.beta)] as const;
    const ffnLn = [P(W.ffnLn.gamma), P(W.ffnLn.beta)] as const;
    const pre = c.doLayerNormBefore;
    const D = c.hiddenSize / c.numAttentionHeads;
    // self-attention block
    let y = pre ? layerNorm(h, ...attnLn, c.layerNormEps) : h;
    const context = await L.selfAttention(y, W, D ** -0.5);
    // the residual joins the output projection (one GEMM epilogue where the backend fuses it)
    let r = L.linear(context, W.o, { residual: h });
    if (!pre) r = layerNorm(r, ...attnLn, c.layerNormEps);
    // feed-forward block
    y = pre ? layerNorm(r, ...ffnLn, c.layerNormEps) : r;
    y =
      c.activationFunction === 'relu'
        ? L.linear(y, W.fc1, { activation: 'relu' })
        : applyActivation(c.activationFunction, L.linear(y, W.fc1));
    const out = L.linear(y, W.fc2, { residual: r });
    return pre ? out : layerNorm(out, ...ffnLn, c.layerNormEps);
  }

  private lmHead(): Tensor {
    if (!this.config.tieWordEmbeddings) {
      const w = this.weights.get('lm_head.weight');
      if (w) return w;
    }
    return this.w('embed_tokens.weight') as Tensor;
  }
}

/** Every tensor an OPT checkpoint must hold for this config, with its shape. */
export function optWeightSpecs(c: OptConfig, prefix = 'model.'): WeightSpec[] {
  const d = c.hiddenSize;
  const e = c.wordEmbedProjDim;
  const specs: WeightSpec[] = [];
  const p = `${prefix}decoder.`;
  specs.push({
    name: `${p}embed_tokens.weight`,
    shape: [c.vocabSize, e],
    why: `vocab_size=${c.vocabSize}, word_embed_proj_dim=${e}`,
  });
  specs.push({
    name: `${p}embed_positions.weight`,
    shape: [c.maxPositionEmbeddings + OPT_POSITION_OFFSET, d],
    why: `max_position_embeddings=${c.maxPositionEmbeddings} (+2 offset), hidden_size=${d}`,
  });
  if (e !== d) {
    specs.push({
      name: `${p}project_in.weight`,
      shape: [d, e],
      why: `hidden_size=${d}, word_embed_proj_dim=${e}`,
    });
    specs.push({
      name: `${p}project_out.weight`,
      shape: [e, d],
      why: `word_embed_proj_dim=${e}, hidden_size=${d}`,
    });
  }
  const lnSpecs = (name: string) => {
    if (!c.layerNormElementwiseAffine) return;
    specs.push({ name: `${name}.weight`, shape: [d], why: `hidden_size=${d}`, init: 'ones' });
    specs.push({ name: `${name}.bias`, shape: [d], why: `hidden_size=${d}`, optional: true, init: 'zeros' });
  };
  const linSpecs = (name: string, out: number, inp: number, why: string) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], why });
    if (c.enableBias) specs.push({ name: `${name}.bias`, shape: [out], why, init: 'zeros' });
  };
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `${p}layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      linSpecs(`${l}.self_attn.${proj}`, d, d, `hidden_size=${d}`);
    }
    linSpecs(`${l}.fc1`, c.ffnDim, d, `ffn_dim=${c.ffnDim}, hidden_size=${d}`);
    linSpecs(`${l}.fc2`, d, c.ffnDim, `hidden_size=${d}, ffn_dim=${c.ffnDim}`);
    lnSpecs(`${l}.self_attn_layer_norm`);
    lnSpecs(`${l}.final_layer_norm`);
  }
  if (c.doLayerNormBefore && !c.removeFinalLayerNorm) lnSpecs(`${p}final_layer_norm`);
  if (!c.tieWordEmbeddings) {
    specs.push({
      name: 'lm_head.weight',
      shape: [c.vocabSize, e],
      why: `vocab_size=${c.vocabSize}, word_embed_proj_dim=${e} (tie_word_embeddings=false)`,
    });
  }
  return specs;
}
