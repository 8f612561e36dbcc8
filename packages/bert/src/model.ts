/**
 * BERT encoder with a sequence-classification head (Hugging Face `BertForSequenceClassification`)
 * over @sea/tensor ops: word + position + token-type embeddings with LayerNorm, post-LN encoder
 * layers, tanh pooler on [CLS], linear classifier; padding through an additive key mask; the
 * attention method of each layer chosen by name (SEA layers get scoreScale 1/√D, spec §8).
 */
import {
  type Backend,
  type Checkpoint,
  currentBackend,
  gather,
  gelu,
  geluTanh,
  layerNorm,
  linear,
  mul,
  relu,
  sigmoid,
  slice,
  type Tensor,
  tanh,
  tensor,
  add as tensorAdd,
  transpose,
} from '@sea/tensor';
import {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  attentionKindOf,
  createLayerAttention,
  type SeaDefaults,
} from './attention.js';
import { type BertConfig, readBertConfig } from './config.js';
import { ModelInputError, ModelLoadError } from './errors.js';
import { checkIds, type IdsInput, toHostIds, toHostMask } from './inputs.js';
import { openModelCheckpoint, readSeaWeights, readWeights, type WeightSpec } from './weights.js';

/** SEA settings of the paper's BERT runs (spec §10): K=128, k=7 (CLI default), nbf=1; `seaConfig` overrides them. */
export const BERT_SEA_DEFAULTS: SeaDefaults = { predictorLength: 128, k: 7, nbFeatureFactor: 1 };

export interface BertLoadOptions {
  backend?: Backend;
  /** Attention per layer (default 'dense'). */
  attention?: AttentionChoice;
  /**
   * SeaAttentionConfig settings for 'sea'/'performer' layers (predictorLength, k, nbFeatureFactor,
   * topkMode, path, …), over BERT_SEA_DEFAULTS.
   */
  seaConfig?: Readonly<Record<string, unknown>>;
  /**
   * SEA weights: a safetensors file or folder with `bert.encoder.layer.{i}.attention.self.sea.<name>`
   * tensors. Layers without them are initialised from `seed`.
   */
  seaWeights?: string;
  /** Seed for freshly initialised SEA/Performer parameters; layer i uses seed + i (default 0). */
  seed?: number;
}

export interface BertForwardOptions {
  /** 1 for tokens, 0 for padding, [B, T] (default all ones). */
  attentionMask?: IdsInput;
  /** Segment ids [B, T] (default all zeros). */
  tokenTypeIds?: IdsInput;
  /** Shape [B, T] of flat `inputIds` (default [1, length]). */
  shape?: readonly [number, number];
  /** Return Hugging Face's `hidden_states`: the embeddings and every layer's output. */
  outputHiddenStates?: boolean;
}

export interface BertOutput {
  /** [B, numLabels] */
  logits: Tensor;
  /** tanh(dense(h[:, 0])), [B, hidden] */
  pooled: Tensor;
  /** numHiddenLayers + 1 tensors [B, T, hidden]; the caller disposes them. */
  hiddenStates?: Tensor[];
}

type Linear = [Tensor, Tensor];
interface LayerNormWeights {
  gamma: Tensor;
  beta: Tensor;
}

interface BertLayer {
  q: Linear;
  k: Linear;
  v: Linear;
  attnOut: Linear;
  attnLn: LayerNormWeights;
  inter: Linear;
  out: Linear;
  outLn: LayerNormWeights;
  attention: AttentionModule;
  kind: AttentionKind;
}

class Arena {
  readonly #ts: Tensor[] = [];
  k(t: Tensor): Tensor {
    this.#ts.push(t);
    return t;
  }
  dispose(keep: ReadonlySet<Tensor>): void {
    for (const t of this.#ts) if (!keep.has(t)) t.dispose();
  }
}

export class BertForSequenceClassification {
  private constructor(
    readonly config: BertConfig,
    readonly backend: Backend,
    private readonly weights: Map<string, Tensor>,
    private readonly prefix: string,
    private readonly layers: BertLayer[],
    private readonly owned: Tensor[],
  ) {}

  get attentionKinds(): AttentionKind[] {
    return this.layers.map((l) => l.kind);
  }

  /** Loads a Hugging Face BERT folder: config.json + model.safetensors (or a sharded index). */
  static async load(dir: string, opts: BertLoadOptions = {}): Promise<BertForSequenceClassification> {
    const config = await readBertConfig(dir);
    const backend = opts.backend ?? currentBackend();
    const ckpt = await openModelCheckpoint(dir);
    let weights: Map<string, Tensor> | null = null;
    const owned: Tensor[] = [];
    const pending: Tensor[] = [];
    const layers: BertLayer[] = [];
    const seaFile = opts.seaWeights ? await openModelCheckpoint(opts.seaWeights) : null;
    try {
      const prefix = detectPrefix(ckpt);
      weights = await readWeights(ckpt, bertWeightSpecs(config, prefix), backend);
      const w = weights;
      const lin = (n: string): Linear => [w.get(`${n}.weight`) as Tensor, w.get(`${n}.bias`) as Tensor];
      const ln = (n: string): LayerNormWeights => ({
        gamma: w.get(`${n}.weight`) as Tensor,
        beta: w.get(`${n}.bias`) as Tensor,
      });
      const H = config.numAttentionHeads;
      const D = config.hiddenSize / H;
      for (let i = 0; i < config.numHiddenLayers; i++) {
        const p = `${prefix}encoder.layer.${i}`;
        const kind = attentionKindOf(opts.attention, i);
        const attnConfig = { heads: H, headDim: D, causal: false, scoreScale: 1 / Math.sqrt(D) };
        const layerWeights =
          kind === 'dense'
            ? {}
            : await readSeaWeights(seaFile, `bert.encoder.layer.${i}.attention.self.sea.`, backend);
        pending.push(...Object.values(layerWeights));
        const attention = createLayerAttention(kind, attnConfig, {
          seaConfig: opts.seaConfig,
          defaults: BERT_SEA_DEFAULTS,
          seed: (opts.seed ?? 0) + i,
          weights: Object.keys(layerWeights).length ? layerWeights : undefined,
          backend,
        });
        pending.length = 0; // the module owns them now
        layers.push({
          q: lin(`${p}.attention.self.query`),
          k: lin(`${p}.attention.self.key`),
          v: lin(`${p}.attention.self.value`),
          attnOut: lin(`${p}.attention.output.dense`),
          attnLn: ln(`${p}.attention.output.LayerNorm`),
          inter: lin(`${p}.intermediate.dense`),
          out: lin(`${p}.output.dense`),
          outLn: ln(`${p}.output.LayerNorm`),
          attention,
          kind,
        });
      }
      return new BertForSequenceClassification(config, backend, weights, prefix, layers, owned);
    } catch (e) {
      for (const l of layers) l.attention.dispose();
      for (const t of [...owned, ...pending]) t.dispose();
      for (const t of weights?.values() ?? []) t.dispose();
      throw e;
    } finally {
      await seaFile?.close();
      await ckpt.close();
    }
  }

  private w(name: string): Tensor {
    return this.weights.get(`${this.prefix}${name}`) as Tensor;
  }

  async forward(inputIds: IdsInput, opts: BertForwardOptions = {}): Promise<BertOutput> {
    const c = this.config;
    const ids = await toHostIds(inputIds, 'inputIds', opts.shape);
    checkIds(ids, c.vocabSize);
    const { B, T } = ids;
    if (T > c.maxPositionEmbeddings) {
      throw new ModelInputError(
        `input has ${T} tokens but max_position_embeddings is ${c.maxPositionEmbeddings}; truncate it (tokenizer maxLength)`,
      );
    }
    const mask = await toHostMask(opts.attentionMask, ids);
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
    const backend = this.backend;
    const a = new Arena();
    const keep = new Set<Tensor>();
    try {
      const valid = new Uint8Array(B * T);
      for (let i = 0; i < B * T; i++) {
        valid[i] = mask[i];
      }
      const pos = Int32Array.from({ length: B * T }, (_, i) => i % T);
      const keyValid = a.k(tensor(valid, [B, T], { backend, dtype: 'bool' }));
      const idsT = a.k(tensor(ids.values, [B, T], { backend, dtype: 'int32' }));
      const posT = a.k(tensor(pos, [B, T], { backend, dtype: 'int32' }));
      const typesT = a.k(tensor(types, [B, T], { backend, dtype: 'int32' }));

      const emb = a.k(
        tensorAdd(
          a.k(
            tensorAdd(
              a.k(gather(this.w('embeddings.word_embeddings.weight'), idsT)),
              a.k(gather(this.w('embeddings.token_type_embeddings.weight'), typesT)),
            ),
          ),
          a.k(gather(this.w('embeddings.position_embeddings.weight'), posT)),
        ),
      );
      let h = a.k(
        layerNorm(
          emb,
          this.w('embeddings.LayerNorm.weight'),
          this.w('embeddings.LayerNorm.bias'),
          c.layerNormEps,
        ),
      );
      const hidden: Tensor[] = opts.outputHiddenStates ? [h] : [];
      const H = c.numAttentionHeads;
      const D = c.hiddenSize / H;
      const heads = (t: Tensor) => a.k(transpose(a.k(t.reshape([B, T, H, D])), [0, 2, 1, 3]));
      for (const L of this.layers) {
        const q = heads(a.k(linear(h, ...L.q)));
        const k = heads(a.k(linear(h, ...L.k)));
        const v = heads(a.k(linear(h, ...L.v)));
        const { context } = await L.attention.forward(q, k, v, { keyValid });
        a.k(context);
        const attnOut = a.k(
          layerNorm(
            a.k(tensorAdd(a.k(linear(context, ...L.attnOut)), h)),
            L.attnLn.gamma,
            L.attnLn.beta,
            c.layerNormEps,
          ),
        );
        const inter = a.k(this.activation(a.k(linear(attnOut, ...L.inter))));
        h = a.k(
          layerNorm(
            a.k(tensorAdd(a.k(linear(inter, ...L.out)), attnOut)),
            L.outLn.gamma,
            L.outLn.beta,
            c.layerNormEps,
          ),
        );
        if (opts.outputHiddenStates) hidden.push(h);
      }
      const cls = a.k(a.k(slice(h, [0, 0, 0], [B, 1, c.hiddenSize])).reshape([B, c.hiddenSize]));
      const pooled = a.k(tanh(a.k(linear(cls, this.w('pooler.dense.weight'), this.w('pooler.dense.bias')))));
      const logits = a.k(
        linear(
          pooled,
          this.weights.get('classifier.weight') as Tensor,
          this.weights.get('classifier.bias') as Tensor,
        ),
      );
      keep.add(logits);
      keep.add(pooled);
      for (const t of hidden) keep.add(t);
      return opts.outputHiddenStates ? { logits, pooled, hiddenStates: hidden } : { logits, pooled };
    } finally {
      a.dispose(keep);
    }
  }

  private activation(x: Tensor): Tensor {
    switch (this.config.hiddenAct) {
      case 'gelu':
        return gelu(x);
      case 'gelu_new':
      case 'gelu_pytorch_tanh':
      case 'gelu_fast':
        return geluTanh(x);
      case 'relu':
        return relu(x);
      case 'tanh':
        return tanh(x);
      default: {
        const s = sigmoid(x);
        const y = mul(x, s);
        s.dispose();
        return y;
      }
    }
  }

  dispose(): void {
    for (const l of this.layers) l.attention.dispose();
    for (const t of this.owned) t.dispose();
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }
}

function detectPrefix(ckpt: Checkpoint): string {
  for (const p of ['bert.', '']) if (ckpt.has(`${p}embeddings.word_embeddings.weight`)) return p;
  const some = ckpt.names().slice(0, 3).join(', ');
  throw new ModelLoadError(
    `checkpoint ${ckpt.file} has no 'bert.embeddings.word_embeddings.weight': not a BERT checkpoint (first tensors: ${some})`,
  );
}

/** Every tensor a BertForSequenceClassification checkpoint must hold for this config. */
export function bertWeightSpecs(c: BertConfig, prefix = 'bert.'): WeightSpec[] {
  const d = c.hiddenSize;
  const specs: WeightSpec[] = [];
  const add = (name: string, shape: number[], why: string) =>
    specs.push({ name: `${prefix}${name}`, shape, why });
  const lin = (name: string, out: number, inp: number, why: string) => {
    add(`${name}.weight`, [out, inp], why);
    add(`${name}.bias`, [out], why);
  };
  const ln = (name: string) => {
    add(`${name}.weight`, [d], `hidden_size=${d}`);
    add(`${name}.bias`, [d], `hidden_size=${d}`);
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
  specs.push({ name: 'classifier.bias', shape: [c.numLabels], why: `num_labels=${c.numLabels}` });
  return specs;
}
