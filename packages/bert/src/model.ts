/**
 * BERT encoder with a sequence-classification head (Hugging Face `BertForSequenceClassification`)
 * over @sea/tensor ops: word + position + token-type embeddings with LayerNorm, post-LN encoder
 * layers, tanh pooler on [CLS], linear classifier; padding through an additive key mask; the
 * attention method of each layer chosen by name (SEA layers get scoreScale 1/√D, spec §8).
 */
import {
  type AttentionChoice,
  type AttentionKind,
  type AttentionModule,
  applyActivation,
  attentionKindOf,
  checkIds,
  createLayerAttention,
  type IdsInput,
  ModelInputError,
  ModelLoadError,
  type ModelTensors,
  modelBuffers,
  modelParameters,
  openModelCheckpoint,
  parameterOverrides,
  readSeaWeights,
  readWeights,
  type SeaDefaults,
  toHostIds,
  toHostMask,
  type WeightSpec,
} from '@sea/model-common';
import type { SeaTrainingOutputs } from '@sea/sparse-attention';
import {
  type Backend,
  currentBackend,
  type DType,
  gather,
  layerNorm,
  linear,
  matmul,
  mul,
  slice,
  type Tensor,
  tanh,
  tensor,
  add as tensorAdd,
  transpose,
} from '@sea/tensor';
import type { Checkpoint } from '@sea/tensor/node';
import { type BertConfig, readBertConfig } from './config.js';

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
  /**
   * The float dtype the model computes in (default float32): weights are read as it (bfloat16/float16
   * rounded once from the checkpoint's values) and every activation follows. The backend must list it.
   */
  dtype?: DType;
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
  /**
   * Use these tensors instead of the model's own, by the names of
   * {@link BertForSequenceClassification.parameters} and {@link BertForSequenceClassification.buffers}
   * (e.g. a trainer's current parameters; any subset).
   */
  parameters?: ReadonlyMap<string, Tensor>;
  /**
   * Return per-layer attention outputs for distillation (spec §8–§9a) in `layers`: every layer's
   * context before the output dense; dense layers (the teacher) also their masked, scaled logits
   * q·kᵀ/√D + mask; SEA layers run their dense path with `returnTraining` (Â↑, S/√D, masks).
   */
  captureAttention?: boolean;
}

/** One layer's captured attention (BertForwardOptions.captureAttention); the caller disposes the tensors. */
export interface BertLayerCapture {
  /** Per-head context before the output dense [B, T, H·D] (SEA: the mixed C_sea). */
  context: Tensor;
  /** Dense layers: q·kᵀ/√D + mask [B, H, T, T] (mask 0 / FP_MIN on pad keys). */
  logits?: Tensor;
  /** SEA layers: the dense path's training outputs (studentScores = Q·Kᵀ/√D). */
  training?: SeaTrainingOutputs;
}

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
export const BERT_FP_MIN = -1.7014117331926443e38;

/** Name of layer i's SEA/Performer module tensor `name` (the naming of SEA weights files). */
export const bertSeaParameterName = (layer: number, name: string, prefix = 'bert.') =>
  `${prefix}encoder.layer.${layer}.attention.self.sea.${name}`;

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
    const all = new Map(weights instanceof Map ? weights : Object.entries(weights));
    const backend = opts.backend ?? currentBackend();
    const prefix = all.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
    const specs = bertWeightSpecs(config, prefix);
    const known = new Set(specs.map((s) => s.name));
    const model = new Map<string, Tensor>();
    const sea = new Map<number, Record<string, Tensor>>();
    const seaRe = /^(?:bert\.)?encoder\.layer\.(\d+)\.attention\.self\.sea\.(.+)$/;
    for (const [name, t] of all) {
      const m = seaRe.exec(name);
      if (m) {
        const rec = sea.get(Number(m[1])) ?? {};
        rec[m[2]] = t;
        sea.set(Number(m[1]), rec);
      } else if (known.has(name)) model.set(name, t);
      else throw new ModelLoadError(`BertForSequenceClassification.fromWeights: unexpected tensor '${name}'`);
    }
    for (const spec of specs) {
      const t = model.get(spec.name);
      if (!t) {
        throw new ModelLoadError(
          `BertForSequenceClassification.fromWeights: missing '${spec.name}' [${spec.shape}] (${spec.why})`,
        );
      }
      if (t.rank !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new ModelLoadError(
          `BertForSequenceClassification.fromWeights: '${spec.name}' has shape [${t.shape}], expected [${spec.shape}] (${spec.why})`,
        );
      }
    }
    return BertForSequenceClassification.assemble(
      config,
      backend,
      model,
      prefix,
      opts,
      async (i) => sea.get(i) ?? {},
    );
  }

  /** Loads a Hugging Face BERT folder: config.json + model.safetensors (or a sharded index). */
  static async load(dir: string, opts: BertLoadOptions = {}): Promise<BertForSequenceClassification> {
    const config = await readBertConfig(dir);
    const backend = opts.backend ?? currentBackend();
    const ckpt = await openModelCheckpoint(dir);
    const seaFile = opts.seaWeights
      ? await openModelCheckpoint(opts.seaWeights).catch(async (e) => {
          await ckpt.close();
          throw e;
        })
      : null;
    try {
      const prefix = detectPrefix(ckpt);
      const dtype = opts.dtype ?? 'float32';
      const weights = await readWeights(ckpt, bertWeightSpecs(config, prefix), backend, dtype);
      return await BertForSequenceClassification.assemble(config, backend, weights, prefix, opts, (i) =>
        readSeaWeights(seaFile, bertSeaParameterName(i, ''), backend, dtype),
      );
    } finally {
      await seaFile?.close();
      await ckpt.close();
    }
  }

  /** Wires the layers over `weights` (owned from here on, disposed on failure). */
  private static async assemble(
    config: BertConfig,
    backend: Backend,
    weights: Map<string, Tensor>,
    prefix: string,
    opts: BertLoadOptions,
    layerWeightsOf: (layer: number) => Promise<Record<string, Tensor>>,
  ): Promise<BertForSequenceClassification> {
    const owned: Tensor[] = [];
    const pending: Tensor[] = [];
    const layers: BertLayer[] = [];
    try {
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
        const layerWeights = kind === 'dense' ? {} : await layerWeightsOf(i);
        pending.push(...Object.values(layerWeights));
        const attention = createLayerAttention(kind, attnConfig, {
          seaConfig: opts.seaConfig,
          defaults: BERT_SEA_DEFAULTS,
          seed: (opts.seed ?? 0) + i,
          weights: Object.keys(layerWeights).length ? layerWeights : undefined,
          backend,
          dtype: opts.dtype,
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
      for (const t of [...owned, ...pending, ...weights.values()]) t.dispose();
      throw e;
    }
  }

  /** The model's tensors as the shared parameter bookkeeping sees them. */
  private tensors(): ModelTensors {
    return {
      weights: this.weights,
      modules: this.layers.map((l) => l.attention),
      moduleName: (i, n) => bertSeaParameterName(i, n, this.prefix),
    };
  }

  /**
   * Every trainable tensor by Hugging Face name, plus each SEA/Performer layer's module weights as
   * `bert.encoder.layer.{i}.attention.self.sea.<name>` (the SEA weights-file naming; contains `.sea.`,
   * the spec's SEA learning-rate group). New handles on the model's buffers: the caller disposes them.
   */
  parameters(): Map<string, Tensor> {
    return modelParameters(this.tensors());
  }

  /** Tensors that are saved but never trained (the Performer projection W of SEA/Performer layers), as new handles. */
  buffers(): Map<string, Tensor> {
    return modelBuffers(this.tensors());
  }

  /** Checks per-call parameters against the model's own; returns a lookup from an own tensor to its replacement. */
  private overrides(params: ReadonlyMap<string, Tensor> | undefined): (t: Tensor) => Tensor {
    return parameterOverrides(this.tensors(), params, (m) => new ModelInputError(m));
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
    const P = this.overrides(opts.parameters);
    const lin = ([w, b]: Linear): Linear => [P(w), P(b)];
    const lnw = (l: LayerNormWeights): [Tensor, Tensor] => [P(l.gamma), P(l.beta)];
    const W = (name: string) => P(this.w(name));
    const capture = opts.captureAttention ?? false;
    const captured: BertLayerCapture[] = [];
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
      let logitMask: Tensor | undefined;
      let validRows: Tensor | undefined;
      if (capture) {
        const m = new Float32Array(B * T * T);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            for (let j = 0; j < T; j++) if (!valid[b * T + j]) m[(b * T + t) * T + j] = BERT_FP_MIN;
          }
        }
        // in the model's dtype (float32 unless loaded with { dtype })
        const dt = this.layers[0]?.q[0].dtype ?? 'float32';
        logitMask = a.k(tensor(m, [B, 1, T, T], { backend, dtype: dt }));
        validRows = a.k(tensor(Float32Array.from(valid), [B, T], { backend }));
        keep.add(logitMask);
        keep.add(validRows);
      }

      const emb = a.k(
        tensorAdd(
          a.k(
            tensorAdd(
              a.k(gather(W('embeddings.word_embeddings.weight'), idsT)),
              a.k(gather(W('embeddings.token_type_embeddings.weight'), typesT)),
            ),
          ),
          a.k(gather(W('embeddings.position_embeddings.weight'), posT)),
        ),
      );
      let h = a.k(
        layerNorm(emb, W('embeddings.LayerNorm.weight'), W('embeddings.LayerNorm.bias'), c.layerNormEps),
      );
      const hidden: Tensor[] = opts.outputHiddenStates ? [h] : [];
      const H = c.numAttentionHeads;
      const D = c.hiddenSize / H;
      const heads = (t: Tensor) => a.k(transpose(a.k(t.reshape([B, T, H, D])), [0, 2, 1, 3]));
      for (const L of this.layers) {
        // dense attention reads the projections as [B,T,H,D] in place (no head transposes)
        const inPlace = L.kind === 'dense' && !capture;
        const split = inPlace ? (t: Tensor) => a.k(t.reshape([B, T, H, D])) : heads;
        const q = split(a.k(linear(h, ...lin(L.q))));
        const k = split(a.k(linear(h, ...lin(L.k))));
        const v = split(a.k(linear(h, ...lin(L.v))));
        const own = Object.entries(L.attention.weights);
        const moduleWeights = own.some(([, t]) => P(t) !== t)
          ? Object.fromEntries(own.map(([n, t]) => [n, P(t)]))
          : undefined;
        const training = capture && L.kind === 'sea';
        const out = await L.attention.forward(q, k, v, {
          keyValid,
          ...(inPlace ? { layout: 'bthd' as const } : {}),
          ...(moduleWeights ? { weights: moduleWeights } : {}),
          ...(training ? { path: 'dense' as const, returnTraining: true } : {}),
        });
        const context = a.k(out.context);
        if (capture) {
          const entry: BertLayerCapture = { context };
          keep.add(context);
          if (out.training) {
            entry.training = out.training;
            for (const t of Object.values(out.training)) keep.add(a.k(t));
          }
          if (L.kind === 'dense') {
            const s = a.k(mul(a.k(matmul(q, k, { transB: true })), 1 / Math.sqrt(D)));
            entry.logits = a.k(tensorAdd(s, logitMask as Tensor));
            keep.add(entry.logits);
          }
          captured.push(entry);
        } else if (out.training) for (const t of Object.values(out.training)) a.k(t);
        const attnOut = a.k(
          layerNorm(
            a.k(linear(context, ...lin(L.attnOut), { residual: h })),
            ...lnw(L.attnLn),
            c.layerNormEps,
          ),
        );
        const inter = a.k(this.activation(a.k(linear(attnOut, ...lin(L.inter)))));
        h = a.k(
          layerNorm(
            a.k(linear(inter, ...lin(L.out), { residual: attnOut })),
            ...lnw(L.outLn),
            c.layerNormEps,
          ),
        );
        if (opts.outputHiddenStates) hidden.push(h);
      }
      const cls = a.k(a.k(slice(h, [0, 0, 0], [B, 1, c.hiddenSize])).reshape([B, c.hiddenSize]));
      const pooled = a.k(tanh(a.k(linear(cls, W('pooler.dense.weight'), W('pooler.dense.bias')))));
      const logits = a.k(
        linear(
          pooled,
          P(this.weights.get('classifier.weight') as Tensor),
          P(this.weights.get('classifier.bias') as Tensor),
        ),
      );
      keep.add(logits);
      keep.add(pooled);
      for (const t of hidden) keep.add(t);
      const result: BertOutput = opts.outputHiddenStates
        ? { logits, pooled, hiddenStates: hidden }
        : { logits, pooled };
      if (capture) {
        result.layers = captured;
        result.logitMask = logitMask;
        result.validRows = validRows;
      }
      return result;
    } finally {
      a.dispose(keep);
    }
  }

  private activation(x: Tensor): Tensor {
    return applyActivation(this.config.hiddenAct, x);
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
