/**
 * BERT encoder with a sequence-classification head (Hugging Face `BertForSequenceClassification`)
 * over @sea/tensor ops: word + position + token-type embeddings with LayerNorm, post-LN encoder
 * layers, tanh pooler on [CLS], linear classifier; padding through an additive key mask; the
 * attention method of each layer chosen by name (SEA layers get scoreScale 1/√D, docs/algorithm.md §8).
 */
import {
  applyActivation,
  type ForwardRun,
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
  toHostIds,
  transformerFromWeights,
  type WeightSpec,
} from '@sea/model-common';
import { add, gather, layerNorm, linear, slice, type Tensor, tanh, tensor, tidyAsync } from '@sea/tensor';
import { type BertConfig, readBertConfig } from './config.js';

/** SEA settings of the paper's BERT runs (docs/algorithm.md §10): K=128, k=7 (CLI default), nbf=1; `seaConfig` overrides them. */
export const BERT_SEA_DEFAULTS: SeaDefaults = { predictorLength: 128, k: 7, nbFeatureFactor: 1 };

/**
 * Loading options: backend, attention per layer (default 'dense'), `seaConfig` over
 * BERT_SEA_DEFAULTS, SEA weights (`bert.encoder.layer.{i}.attention.self.sea.<name>` tensors; layers
 * without them are initialised from `seed` + i).
 */
export type BertLoadOptions = TransformerLoadOptions;

/**
 * Forward options (see TransformerForwardOptions) plus segment ids. With captureAttention, dense
 * layers (the teacher) give their masked, scaled logits q·kᵀ/√D + mask and SEA layers their dense
 * path's training outputs (S/√D).
 */
export interface BertForwardOptions extends TransformerForwardOptions {
  /** Segment ids [B, T] (default all zeros). */
  tokenTypeIds?: IdsInput;
}

/** One layer's captured attention (BertForwardOptions.captureAttention); the caller disposes the tensors. */
export type BertLayerCapture = LayerCapture;

export interface BertOutput {
  /** [B, numLabels] */
  logits: Tensor;
  /** tanh(dense(h[:, 0])), [B, hidden] */
  pooled: Tensor;
  /** numHiddenLayers + 1 tensors [B, T, hidden]; the caller disposes them. */
  hiddenStates?: Tensor[];
  /** With captureAttention: one entry per layer. */
  layers?: BertLayerCapture[];
  /** With captureAttention: the additive key-padding mask [B, 1, T, T] (0 valid key, FP_MIN pad key). */
  logitMask?: Tensor;
  /** With captureAttention: 1 for tokens, 0 for padding, float32 [B, T] (the bidirectional KL's rows). */
  validRows?: Tensor;
}

/** finfo(float32).min / 2, the additive "masked" value of the SEA dense path and its losses. */
export const BERT_FP_MIN = MODEL_FP_MIN;

/** Name of layer i's SEA/Performer module tensor `name` (the naming of SEA weights files). */
export const bertSeaParameterName = (layer: number, name: string, prefix = 'bert.') =>
  `${prefix}encoder.layer.${layer}.attention.self.sea.${name}`;

type LayerNormWeights = readonly [Tensor, Tensor];

interface BertLayerWeights {
  q: Linear;
  k: Linear;
  v: Linear;
  attnOut: Linear;
  attnLn: LayerNormWeights;
  inter: Linear;
  out: Linear;
  outLn: LayerNormWeights;
}

/** BERT as the transformer skeleton sees it. */
export const BERT_FAMILY: TransformerFamily<BertConfig, BertLayerWeights> = {
  className: 'BertForSequenceClassification',
  architecture: 'BERT',
  prefixes: ['bert.', ''],
  probe: 'embeddings.word_embeddings.weight',
  seaDefaults: BERT_SEA_DEFAULTS,
  seaPattern: /^(?:bert\.)?encoder\.layer\.(\d+)\.attention\.self\.sea\.(.+)$/,
  seaName: bertSeaParameterName,
  weightSpecs: bertWeightSpecs,
  tooLongHint: () => 'truncate it (tokenizer maxLength)',
  attention: (c) => {
    const D = c.hiddenSize / c.numAttentionHeads;
    return { heads: c.numAttentionHeads, headDim: D, causal: false, scoreScale: 1 / Math.sqrt(D) };
  },
  layerWeights(_c, get, prefix, i) {
    const p = `${prefix}encoder.layer.${i}`;
    const lin = (n: string): Linear => [get(`${n}.weight`) as Tensor, get(`${n}.bias`) as Tensor];
    const ln = (n: string): LayerNormWeights => [get(`${n}.weight`) as Tensor, get(`${n}.bias`) as Tensor];
    return {
      q: lin(`${p}.attention.self.query`),
      k: lin(`${p}.attention.self.key`),
      v: lin(`${p}.attention.self.value`),
      attnOut: lin(`${p}.attention.output.dense`),
      attnLn: ln(`${p}.attention.output.LayerNorm`),
      inter: lin(`${p}.intermediate.dense`),
      out: lin(`${p}.output.dense`),
      outLn: ln(`${p}.output.LayerNorm`),
    };
  },
};

/**
 * BERT encoder with a sequence-classification head (Hugging Face `BertForSequenceClassification`)
 * on the transformer skeleton: word + position + token-type embeddings with LayerNorm, post-LN
 * encoder layers, tanh pooler on [CLS], linear classifier; padding through the key mask; SEA layers
 * get scoreScale 1/√D (docs/algorithm.md §8).
 */
export class BertForSequenceClassification extends Transformer<
  BertConfig,
  BertLayerWeights,
  BertForwardOptions
> {
  private constructor(parts: TransformerParts<BertConfig, BertLayerWeights>) {
    super(BERT_FAMILY, parts);
  }

  /**
   * Builds a model from tensors by Hugging Face name (`bert.…` plus `classifier.*`, or without the
   * `bert.` prefix), e.g. a trainer's copy of a teacher. Tensors named
   * `bert.encoder.layer.{i}.attention.self.sea.<name>` become layer i's SEA/Performer module weights
   * (others are initialised from `seed`). The model takes ownership of every tensor.
   */
  static async fromWeights(
    config: BertConfig,
    weights: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
    opts: Omit<BertLoadOptions, 'seaWeights'> = {},
  ): Promise<BertForSequenceClassification> {
    return new BertForSequenceClassification(
      await transformerFromWeights(BERT_FAMILY, config, weights, opts),
    );
  }

  /** Loads a Hugging Face BERT folder: config.json + model.safetensors (or a sharded index). */
  static async load(dir: string, opts: BertLoadOptions = {}): Promise<BertForSequenceClassification> {
    const config = await readBertConfig(dir);
    return new BertForSequenceClassification(await loadTransformer(BERT_FAMILY, config, dir, opts));
  }

  private w(name: string): Tensor {
    return this.weights.get(`${this.prefix}${name}`) as Tensor;
  }

  /** Class logits and the pooled [CLS] state, and optionally every hidden state. */
  async forward(inputIds: IdsInput, opts: BertForwardOptions = {}): Promise<BertOutput> {
    return tidyAsync(async () => {
      const run = await this.begin(inputIds, opts);
      const { B, p: P } = run;
      const C = this.config.hiddenSize;
      const body = await this.layerLoop(run, opts);
      const h = body.hidden;
      const cls = slice(h, [0, 0, 0], [B, 1, C]).reshape([B, C]);
      const pooled = tanh(linear(cls, P(this.w('pooler.dense.weight')), P(this.w('pooler.dense.bias'))));
      const logits = linear(
        pooled,
        P(this.weights.get('classifier.weight') as Tensor),
        P(this.weights.get('classifier.bias') as Tensor),
      );
      const result: BertOutput = { logits, pooled };
      if (body.hiddenStates) result.hiddenStates = [...body.hiddenStates, h];
      if (body.layers) {
        result.layers = body.layers;
        result.logitMask = body.logitMask;
        result.validRows = tensor(Float32Array.from(run.mask), [B, run.pastLength + run.T], {
          backend: this.backend,
        });
      }
      return result;
    });
  }

  /** Word + token-type + position embeddings (positions from the offset), then LayerNorm. */
  protected async embed(run: ForwardRun, opts: BertForwardOptions): Promise<Tensor> {
    const c = this.config;
    const { B, T, backend, p: P } = run;
    let types: Int32Array = new Int32Array(B * T);
    if (opts.tokenTypeIds !== undefined) {
      const tt = await toHostIds(opts.tokenTypeIds, 'tokenTypeIds', [B, T]);
      if (tt.B !== B || tt.T !== T)
        throw new ModelInputError(`tokenTypeIds has shape [${tt.B},${tt.T}], inputIds [${B},${T}]`);
      for (const v of tt.values) {
        if (v < 0 || v >= c.typeVocabSize) {
          throw new ModelInputError(
            `token type id ${v} is outside [0, ${c.typeVocabSize}) (type_vocab_size)`,
          );
        }
      }
      types = tt.values;
    }
    const pos = Int32Array.from({ length: B * T }, (_, i) => run.pastLength + (i % T));
    const W = (name: string) => P(this.w(name));
    const idsT = tensor(run.ids.values, [B, T], { backend, dtype: 'int32' });
    const posT = tensor(pos, [B, T], { backend, dtype: 'int32' });
    const typesT = tensor(types, [B, T], { backend, dtype: 'int32' });
    const emb = add(
      add(
        gather(W('embeddings.word_embeddings.weight'), idsT),
        gather(W('embeddings.token_type_embeddings.weight'), typesT),
      ),
      gather(W('embeddings.position_embeddings.weight'), posT),
    );
    return layerNorm(emb, W('embeddings.LayerNorm.weight'), W('embeddings.LayerNorm.bias'), c.layerNormEps);
  }

  /** Post-LN self-attention and feed-forward blocks, residuals fused into the GEMMs. */
  protected async layer(L: LayerRun<BertLayerWeights>, h: Tensor): Promise<Tensor> {
    const eps = this.config.layerNormEps;
    const { p: P, weights: W } = L;
    const ln = (x: Tensor, [g, b]: LayerNormWeights) => layerNorm(x, P(g), P(b), eps);
    const context = await L.selfAttention(h, W);
    const attnOut = ln(L.linear(context, W.attnOut, { residual: h }), W.attnLn);
    const inter = applyActivation(this.config.hiddenAct, L.linear(attnOut, W.inter));
    return ln(L.linear(inter, W.out, { residual: attnOut }), W.outLn);
  }
}

/** Every tensor a BertForSequenceClassification checkpoint must hold for this config. */
export function bertWeightSpecs(c: BertConfig, prefix = 'bert.'): WeightSpec[] {
  const d = c.hiddenSize;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], why: string, init?: WeightSpec['init']) =>
    specs.push({ name: `${prefix}${name}`, shape, why, ...(init ? { init } : {}) });
  const lin = (name: string, out: number, inp: number, why: string) => {
    add(`${name}.weight`, [out, inp], why);
    add(`${name}.bias`, [out], why, 'zeros');
  };
  const ln = (name: string) => {
    add(`${name}.weight`, [d], `hidden_size=${d}`, 'ones');
    add(`${name}.bias`, [d], `hidden_size=${d}`, 'zeros');
  };
  add('embeddings.word_embeddings.weight', [c.vocabSize, d], `vocab_size=${c.vocabSize}, hidden_size=${d}`);
  add(
    'embeddings.position_embeddings.weight',
    [c.maxPositionEmbeddings, d],
    `max_position_embeddings=${c.maxPositionEmbeddings}, hidden_size=${d}`,
  );
  add(
    'embeddings.token_type_embeddings.weight',
    [c.typeVocabSize, d],
    `type_vocab_size=${c.typeVocabSize}, hidden_size=${d}`,
  );
  ln('embeddings.LayerNorm');
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `encoder.layer.${i}`;
    for (const n of ['query', 'key', 'value']) lin(`${p}.attention.self.${n}`, d, d, `hidden_size=${d}`);
    lin(`${p}.attention.output.dense`, d, d, `hidden_size=${d}`);
    ln(`${p}.attention.output.LayerNorm`);
    lin(
      `${p}.intermediate.dense`,
      c.intermediateSize,
      d,
      `intermediate_size=${c.intermediateSize}, hidden_size=${d}`,
    );
    lin(
      `${p}.output.dense`,
      d,
      c.intermediateSize,
      `hidden_size=${d}, intermediate_size=${c.intermediateSize}`,
    );
    ln(`${p}.output.LayerNorm`);
  }
  lin('pooler.dense', d, d, `hidden_size=${d}`);
  specs.push({
    name: 'classifier.weight',
    shape: [c.numLabels, d],
    why: `num_labels=${c.numLabels}, hidden_size=${d}`,
  });
  specs.push({
    name: 'classifier.bias',
    shape: [c.numLabels],
    why: `num_labels=${c.numLabels}`,
    init: 'zeros',
  });
  return specs;
}
