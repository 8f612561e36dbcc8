/**
 * The transformer skeleton the model adapters share: loading (a folder or tensors by name), the
 * parameter bookkeeping, dispose, the layer loop with one attention module per layer, the
 * distillation capture, hooks, and the seam for incremental decoding. An adapter (OPT, BERT) keeps
 * only its config, its weight specs, its embeddings, its layer function and its head.
 *
 * Incremental decoding plugs in here: `forward(ids, { cache })` runs the new tokens after the
 * `cache.pastLength` tokens the cache has seen; layer i receives `cache.layers[i]` as `state` and
 * the position offset `pastLength`, and position embeddings count from the offset (OPT: from the
 * attention mask, which then covers the past tokens too, [B, pastLength + T]).
 */
import type {
  AttentionForwardOptions,
  AttentionModule,
  DecodeState,
  SeaTrainingOutputs,
} from '@sea/sparse-attention';
import {
  add,
  type Backend,
  type CsrMatrix,
  currentBackend,
  type DType,
  full,
  linear,
  matmul,
  mul,
  type Tensor,
  tensor,
  tidyAsync,
  transpose,
} from '@sea/tensor';
import type { Checkpoint } from '@sea/tensor/node';
import {
  type AttentionChoice,
  type AttentionKind,
  attentionKindOf,
  createLayerAttention,
  type LayerAttentionConfig,
  type LayerCheckpoint,
  type SeaDefaults,
} from './attention.js';
import { ModelInputError, ModelLoadError } from './errors.js';
import { checkIds, type HostIds, type IdsInput, toHostIds, toHostMask } from './inputs.js';
import { type ModelTensors, modelBuffers, modelParameters, parameterOverrides } from './parameters.js';
import { openModelCheckpoint, readSeaWeights, readWeights, type WeightSpec } from './weights.js';

/** finfo(float32).min / 2, the additive "masked" value of the SEA dense path and its losses. */
export const MODEL_FP_MIN = -1.7014117331926443e38;

/** A linear layer's weight [out, in] and bias [out] (null when the model has none). */
export type Linear = readonly [Tensor, Tensor | null];

/**
 * What one layer keeps between incremental calls (dense attention: the past keys and values;
 * SEA/Performer: their recurrent sums). Created and updated by the layer's attention.
 */
export interface LayerState {
  /** Frees the state's tensors. */
  dispose(): void;
}

/**
 * Per-call state of incremental decoding, passed as `forward(ids, { cache })`: one entry per layer
 * (undefined until the layer has run once) and the number of tokens already run.
 */
export interface ForwardCache {
  layers: (LayerState | undefined)[];
  pastLength: number;
  /** Rows to reserve per layer's K/V cache at the first call (prompt + new tokens); grows past it. */
  capacity?: number;
  /**
   * Each layer's q projection with q's scale folded in (W·s, b·s), made at the first call and kept
   * for the steps: when s is a power of two (D = 64: 1/8), where the fold is exact in every dtype.
   */
  scaledQ?: Map<number, [Tensor, Tensor | null]>;
  /** Otherwise q's scale as a kept [1] tensor per dtype (no fill per layer per step). */
  scalars?: Map<string, Tensor>;
}

/** Whether x·s is exact for every float x (s a power of two; overflow and subnormals aside). */
function isPowerOfTwo(s: number): boolean {
  return s > 0 && Number.isFinite(s) && 2 ** Math.round(Math.log2(s)) === s;
}

/** Layer `li`'s q projection × `scale` for `cache`, made once. */
function cacheScaledQ(
  cache: ForwardCache,
  li: number,
  w: Tensor,
  b: Tensor | null,
  scale: number,
): [Tensor, Tensor | null] {
  cache.scaledQ ??= new Map();
  let p = cache.scaledQ.get(li);
  if (!p) {
    p = [mul(w, scale).keep(), b ? mul(b, scale).keep() : null];
    cache.scaledQ.set(li, p);
  }
  return p;
}

/** The cache's [1] tensor of `value` in `dtype`, made once. */
function cacheScalar(cache: ForwardCache, value: number, dtype: DType, backend: Backend): Tensor {
  cache.scalars ??= new Map();
  const key = `${dtype}:${value}`;
  let t = cache.scalars.get(key);
  if (!t) {
    t = full([1], value, { backend, dtype }).keep();
    cache.scalars.set(key, t);
  }
  return t;
}

/** What `onLayer` sees of layer i: tensors live until the hook returns (`keep()` what you hold on to). */
export interface LayerView {
  /** The layer's input [B, T, hidden]. */
  hidden: Tensor;
  /** q, k, v [B, H, T, D] as the attention module gets them (OPT: q already × D^-1/2). */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** SEA layers: Â [B, H, T, K]. */
  estimate?: Tensor;
  /** SEA layers: the attention mask (CsrMatrix on the sparse path, bool [B,H,T,T] on the dense path). */
  mask?: CsrMatrix | Tensor;
  /** The attention output [B, T, H·D] before the output projection. */
  context: Tensor;
}

/** Hooks into the layer loop. */
export interface LayerHooks {
  /** Called once per layer after its attention ran. */
  onLayer?: (layer: number, view: LayerView) => void | Promise<void>;
  /** Run layers 0…n only (`forwardLayers`). */
  stopAfterLayer?: number;
}

export interface TransformerForwardOptions extends LayerHooks {
  /** 1 for tokens, 0 for padding, [B, T] (with a cache [B, pastLength + T]; default all ones). */
  attentionMask?: IdsInput;
  /** Shape [B, T] of flat `inputIds` (default [1, length]). */
  shape?: readonly [number, number];
  /** Return Hugging Face's `hidden_states`: every layer's input, then the final output. */
  outputHiddenStates?: boolean;
  /**
   * Use these tensors instead of the model's own, by the names of `parameters()` and `buffers()`
   * (e.g. a trainer's current parameters; any subset).
   */
  parameters?: ReadonlyMap<string, Tensor>;
  /**
   * Return per-layer attention outputs for distillation (docs/algorithm.md §8–§9a) in `layers`: every layer's
   * context before the output projection; dense layers (the teacher) also their masked attention
   * logits q·kᵀ·scoreScale + mask; SEA layers run their dense path with `returnTraining`.
   */
  captureAttention?: boolean;
  /** Incremental decoding state (see {@link ForwardCache}). */
  cache?: ForwardCache;
  /**
   * Runs each layer through this (activation checkpointing: @sea/train's `checkpoint` keeps a
   * layer's inputs — hidden state, key mask, logit mask — and outputs only, and runs the layer again
   * in backward). `onLayer` sees each layer's first run only. Not with a `cache`.
   */
  checkpoint?: LayerCheckpoint;
}

/** One layer's captured attention (captureAttention); the caller disposes the tensors. */
export interface LayerCapture {
  /** Per-head context before the output projection [B, T, H·D] (SEA: the mixed C_sea). */
  context: Tensor;
  /** Dense layers: q·kᵀ·scoreScale + mask [B, H, T, T]. */
  logits?: Tensor;
  /** SEA layers: the dense path's training outputs. */
  training?: SeaTrainingOutputs;
}

/** What the layer loop returns inside a forward. */
export interface LayerLoopOutput {
  /** The last layer's output. */
  hidden: Tensor;
  /** With outputHiddenStates: every layer's input. */
  hiddenStates?: Tensor[];
  /** With captureAttention: one entry per layer. */
  layers?: LayerCapture[];
  /** With captureAttention: the additive mask [B, 1, T, T] (0 visible, MODEL_FP_MIN not) of the logits. */
  logitMask?: Tensor;
}

/** The inputs of one forward, checked, on the host and on the backend. */
export interface ForwardRun {
  readonly ids: HostIds;
  readonly B: number;
  readonly T: number;
  /** Tokens run before these (the cache's pastLength; 0 without a cache). */
  readonly pastLength: number;
  /** 0/1 [B, pastLength + T]. */
  readonly mask: Int32Array;
  /** With a cache: valid tokens per row among these T (left padding: the row's last ones). */
  readonly validCounts?: Int32Array;
  /** bool [B, pastLength + T]: false at padding. */
  readonly keyValid: Tensor;
  /** Each row's valid length, where every row of `mask` is right-padded (SEA layers then read no mask back). */
  readonly validLengths?: Int32Array;
  /** The per-call replacement of a model tensor (identity without `parameters`). */
  readonly p: (t: Tensor) => Tensor;
  readonly capture: boolean;
  readonly backend: Backend;
}

/** What a layer function gets besides the hidden state. */
export interface LayerRun<LW> {
  readonly layerIndex: number;
  readonly weights: LW;
  readonly p: (t: Tensor) => Tensor;
  /** The layer's incremental state (undefined without a cache, or before the layer first ran). */
  readonly state: LayerState | undefined;
  /** Position of the first token of this call (the cache's pastLength). */
  readonly positionOffset: number;
  /**
   * The self-attention of the layer on its (normed) input `y`: q, k, v projections (q × `qScale`),
   * heads, the layer's attention module, capture and the `onLayer` hook. Returns the context
   * [B, T, H·D] before the output projection.
   */
  selfAttention(y: Tensor, proj: { q: Linear; k: Linear; v: Linear }, qScale?: number): Promise<Tensor>;
  /** `linear(x, w, b)` with the per-call replacements applied. */
  linear(x: Tensor, l: Linear, opts?: Parameters<typeof linear>[3]): Tensor;
}

/** One layer of an assembled model. */
export interface TransformerLayer<LW> {
  weights: LW;
  attention: AttentionModule;
  kind: AttentionKind;
}

/** The config keys the skeleton reads (the Hugging Face names of every adapter's config). */
export interface TransformerConfig {
  vocabSize: number;
  numHiddenLayers: number;
  maxPositionEmbeddings: number;
}

/** What the skeleton needs to know about an architecture. */
export interface TransformerFamily<C extends TransformerConfig, LW> {
  /** The class name errors start with. */
  readonly className: string;
  /** The architecture's name in messages ('OPT', 'BERT'). */
  readonly architecture: string;
  /** Checkpoint name prefixes, first tried first (`model.` / `` for OPT). */
  readonly prefixes: readonly string[];
  /** A tensor name after the prefix that every checkpoint of the family holds. */
  readonly probe: string;
  readonly seaDefaults: SeaDefaults;
  /** Matches a SEA module tensor's full name; groups: layer index, name inside the module. */
  readonly seaPattern: RegExp;
  /** Full name of layer i's SEA/Performer module tensor `name` (the naming of SEA weights files). */
  seaName(layer: number, name: string, prefix?: string): string;
  weightSpecs(c: C, prefix: string): WeightSpec[];
  /** What to do about too many tokens (ends the error message). */
  tooLongHint(max: number): string;
  attention(c: C): LayerAttentionConfig;
  /**
   * Layer i's weights from the model's tensors by full name; `constant(n, value)` makes a
   * model-owned [n] tensor (e.g. a LayerNorm without affine parameters).
   */
  layerWeights(
    c: C,
    get: (name: string) => Tensor | undefined,
    prefix: string,
    layer: number,
    constant: (n: number, value: number) => Tensor,
  ): LW;
}

export interface TransformerLoadOptions {
  backend?: Backend;
  /** Attention per layer (default 'dense'; exact attention, the parity-tested path). */
  attention?: AttentionChoice;
  /** SeaAttentionConfig settings for 'sea'/'performer' layers over the family's defaults. */
  seaConfig?: Readonly<Record<string, unknown>>;
  /** SEA weights: a safetensors file or folder with tensors named by the family's `seaName`. */
  seaWeights?: string;
  /** Seed for freshly initialised SEA/Performer parameters; layer i uses seed + i (default 0). */
  seed?: number;
  /**
   * The float dtype the model computes in (default float32): weights are read as it (bfloat16/float16
   * rounded once from the checkpoint's values) and every activation follows. The backend must list it.
   */
  dtype?: DType;
}

/** An assembled model's parts, owned by the model built from them. */
export interface TransformerParts<C, LW> {
  config: C;
  backend: Backend;
  weights: Map<string, Tensor>;
  prefix: string;
  layers: TransformerLayer<LW>[];
  owned: Tensor[];
}

/** The family's name prefix a checkpoint uses; a ModelLoadError naming what is missing when none fits. */
export function detectPrefix(
  family: Pick<TransformerFamily<TransformerConfig, unknown>, 'architecture' | 'prefixes' | 'probe'>,
  ckpt: Checkpoint,
): string {
  const names = family.prefixes.map((p) => `'${p}${family.probe}'`);
  const prefix = family.prefixes.find((p) => ckpt.has(`${p}${family.probe}`));
  if (prefix !== undefined) return prefix;
  const some = ckpt.names().slice(0, 3).join(', ');
  throw new ModelLoadError(
    `checkpoint ${ckpt.file} has no ${names.join(' (nor ')}${names.length > 1 ? ')' : ''}: not ${/^[AEIOU]/.test(family.architecture) ? 'an' : 'a'} ${family.architecture} checkpoint (first tensors: ${some})`,
  );
}

/** Loads a Hugging Face folder (config.json already parsed as `config`) and its optional SEA weights. */
export async function loadTransformer<C extends TransformerConfig, LW>(
  family: TransformerFamily<C, LW>,
  config: C,
  dir: string,
  opts: TransformerLoadOptions = {},
): Promise<TransformerParts<C, LW>> {
  const backend = opts.backend ?? currentBackend();
  const ckpt = await openModelCheckpoint(dir);
  const seaFile = opts.seaWeights
    ? await openModelCheckpoint(opts.seaWeights).catch(async (e) => {
        await ckpt.close();
        throw e;
      })
    : null;
  try {
    const prefix = detectPrefix(family, ckpt);
    const dtype = opts.dtype ?? 'float32';
    const weights = await readWeights(ckpt, family.weightSpecs(config, prefix), backend, dtype);
    return await assemble(family, config, backend, weights, prefix, opts, (i) =>
      readSeaWeights(seaFile, family.seaName(i, ''), backend, dtype),
    );
  } finally {
    await seaFile?.close();
    await ckpt.close();
  }
}

/**
 * A model from tensors by full name (any of the family's prefixes), e.g. a trainer's copy of a
 * teacher; SEA module tensors (the family's `seaPattern`) become their layer's module weights. The
 * model takes ownership of every tensor.
 */
export async function transformerFromWeights<C extends TransformerConfig, LW>(
  family: TransformerFamily<C, LW>,
  config: C,
  weights: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: Omit<TransformerLoadOptions, 'seaWeights'> = {},
): Promise<TransformerParts<C, LW>> {
  const all = new Map(weights instanceof Map ? weights : Object.entries(weights));
  const backend = opts.backend ?? currentBackend();
  const [first, ...rest] = family.prefixes;
  const prefix = all.has(`${first}${family.probe}`) ? first : (rest[0] ?? first);
  const specs = family.weightSpecs(config, prefix);
  const known = new Set(specs.map((s) => s.name));
  const model = new Map<string, Tensor>();
  const sea = new Map<number, Record<string, Tensor>>();
  const where = `${family.className}.fromWeights`;
  for (const [name, t] of all) {
    const m = family.seaPattern.exec(name);
    if (m) {
      const rec = sea.get(Number(m[1])) ?? {};
      rec[m[2]] = t;
      sea.set(Number(m[1]), rec);
    } else if (known.has(name)) model.set(name, t);
    else throw new ModelLoadError(`${where}: unexpected tensor '${name}'`);
  }
  for (const spec of specs) {
    const t = model.get(spec.name);
    if (!t) {
      if (spec.optional) continue;
      throw new ModelLoadError(`${where}: missing '${spec.name}' [${spec.shape}] (${spec.why})`);
    }
    if (t.rank !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new ModelLoadError(
        `${where}: '${spec.name}' has shape [${t.shape}], expected [${spec.shape}] (${spec.why})`,
      );
    }
  }
  return assemble(family, config, backend, model, prefix, opts, async (i) => sea.get(i) ?? {});
}

/** Wires the layers over `weights` (owned from here on, disposed on failure). */
async function assemble<C extends TransformerConfig, LW>(
  family: TransformerFamily<C, LW>,
  config: C,
  backend: Backend,
  weights: Map<string, Tensor>,
  prefix: string,
  opts: TransformerLoadOptions,
  layerWeightsOf: (layer: number) => Promise<Record<string, Tensor>>,
): Promise<TransformerParts<C, LW>> {
  const owned: Tensor[] = [];
  const pending: Tensor[] = [];
  const layers: TransformerLayer<LW>[] = [];
  const constant = (n: number, value: number) => {
    const t = full([n], value, { backend, dtype: opts.dtype ?? 'float32' });
    owned.push(t);
    return t;
  };
  try {
    const attnConfig = family.attention(config);
    for (let i = 0; i < config.numHiddenLayers; i++) {
      const kind = attentionKindOf(opts.attention, i);
      const layerWeights = kind === 'dense' ? {} : await layerWeightsOf(i);
      pending.push(...Object.values(layerWeights));
      const attention = createLayerAttention(kind, attnConfig, {
        seaConfig: opts.seaConfig,
        defaults: family.seaDefaults,
        seed: (opts.seed ?? 0) + i,
        weights: Object.keys(layerWeights).length ? layerWeights : undefined,
        backend,
        dtype: opts.dtype,
      });
      pending.length = 0; // the module owns them now
      const lw = family.layerWeights(config, (n) => weights.get(n), prefix, i, constant);
      layers.push({ weights: lw, attention, kind });
    }
    return { config, backend, weights, prefix, layers, owned };
  } catch (e) {
    for (const l of layers) l.attention.dispose();
    for (const t of [...owned, ...pending, ...weights.values()]) t.dispose();
    throw e;
  }
}

/**
 * A transformer over an assembled model: parameters, dispose, the layer loop. Subclasses give the
 * embeddings (`embed`), one layer (`layer`) and their forward's head.
 */
export abstract class Transformer<
  C extends TransformerConfig,
  LW,
  FO extends TransformerForwardOptions = TransformerForwardOptions,
> {
  readonly config: C;
  readonly backend: Backend;
  protected readonly weights: Map<string, Tensor>;
  protected readonly prefix: string;
  protected readonly layers: readonly TransformerLayer<LW>[];
  readonly #owned: Tensor[];

  protected constructor(
    protected readonly family: TransformerFamily<C, LW>,
    parts: TransformerParts<C, LW>,
  ) {
    this.config = parts.config;
    this.backend = parts.backend;
    this.weights = parts.weights;
    this.prefix = parts.prefix;
    this.layers = parts.layers;
    this.#owned = parts.owned;
  }

  /** A model-owned [n] tensor filled with `value` (freed with the model). */
  protected constant(n: number, value: number): Tensor {
    const dtype = this.weights.values().next().value?.dtype ?? 'float32';
    const t = full([n], value, { backend: this.backend, dtype });
    this.#owned.push(t);
    return t;
  }

  /** A fresh incremental-decoding cache: no layer state, no tokens run. */
  createCache(capacity?: number): ForwardCache {
    const cache: ForwardCache = { layers: this.layers.map(() => undefined), pastLength: 0 };
    if (capacity !== undefined) cache.capacity = capacity;
    return cache;
  }

  /** Frees a cache's layer states (the cache can be used again from scratch). */
  disposeCache(cache: ForwardCache): void {
    for (const s of cache.layers) s?.dispose();
    cache.layers = this.layers.map(() => undefined);
    cache.pastLength = 0;
    for (const [w, b] of cache.scaledQ?.values() ?? []) {
      w.dispose();
      b?.dispose();
    }
    cache.scaledQ?.clear();
    for (const t of cache.scalars?.values() ?? []) t.dispose();
    cache.scalars?.clear();
  }

  /**
   * Self-attention of layer `li` with a cache: the first call prefills (the whole prompt at once;
   * left padding allowed, each row's tokens last) and stores the layer's decoding state; later calls
   * run one new token per row against it.
   */
  private async cachedAttention(
    li: number,
    run: ForwardRun,
    opts: FO,
    y: Tensor,
    proj: { q: Linear; k: Linear; v: Linear },
    qScale: number | undefined,
    input: Tensor,
  ): Promise<Tensor> {
    const cache = opts.cache as ForwardCache;
    const L = this.layers[li];
    const { B, T } = run;
    const { heads: H, headDim: D } = this.family.attention(this.config);
    const module = L.attention;
    if (!module.prefill || !module.step) {
      throw new ModelInputError(
        `'${L.kind}' attention keeps no incremental state: forward with a cache is not supported for it`,
      );
    }
    const lin = (x: Tensor, [w, b]: Linear) => linear(x, run.p(w), b && run.p(b));
    // [B,T,H·D] → [B,H,T,D]; with one new token per row, moving the size-1 token axis is a reshape
    const split = (t: Tensor) =>
      T === 1 ? t.reshape([B, H, 1, D]) : transpose(t.reshape([B, T, H, D]), [0, 2, 1, 3]);
    // q's scale: folded into the projection once per cache where that is exact ((y·W + b)·s as
    // y·(W·s) + b·s), else a kept [1] tensor; no scaling constant made per layer per step
    let qp: Tensor;
    if (qScale === undefined) qp = lin(y, proj.q);
    else if (isPowerOfTwo(qScale))
      qp = linear(y, ...cacheScaledQ(cache, li, run.p(proj.q[0]), proj.q[1] && run.p(proj.q[1]), qScale));
    else qp = mul(lin(y, proj.q), cacheScalar(cache, qScale, y.dtype, y.backend));
    const q = split(qp);
    const k = split(lin(y, proj.k));
    const v = split(lin(y, proj.v));
    const state = cache.layers[li] as DecodeState | undefined;
    let context: Tensor;
    let estimate: Tensor | undefined;
    let mask: CsrMatrix | undefined;
    if (!state) {
      const r = await module.prefill(q, k, v, { lengths: run.validCounts, capacity: cache.capacity });
      cache.layers[li] = r.state;
      context = r.context;
    } else {
      const want = opts.onLayer !== undefined && L.kind === 'sea';
      const r = await module.step(state, q, k, v, { returnEstimate: want, returnMask: want });
      context = r.context;
      estimate = r.estimate;
      mask = r.mask;
    }
    if (opts.onLayer) {
      const view: LayerView = { hidden: input, q, k, v, context };
      if (estimate) view.estimate = estimate;
      if (mask) view.mask = mask;
      try {
        await opts.onLayer(li, view);
      } finally {
        mask?.dispose();
      }
    }
    return context;
  }

  /** The hidden state [B, T, hidden] entering layer 0. */
  protected abstract embed(run: ForwardRun, opts: FO): Promise<Tensor>;

  /** One layer: its input hidden state → its output. */
  protected abstract layer(run: LayerRun<LW>, h: Tensor): Promise<Tensor>;

  /** Attention kind of each layer. */
  get attentionKinds(): AttentionKind[] {
    return this.layers.map((l) => l.kind);
  }

  /** The model's tensors as the shared parameter bookkeeping sees them. */
  protected tensors(): ModelTensors {
    return {
      weights: this.weights,
      modules: this.layers.map((l) => l.attention),
      moduleName: (i, n) => this.family.seaName(i, n, this.prefix),
    };
  }

  /**
   * Every trainable tensor by Hugging Face name, plus each SEA/Performer layer's module weights
   * under the SEA weights-file naming (names contain `.sea.`, the spec's SEA learning-rate group).
   * New handles on the model's buffers: the caller disposes them.
   */
  parameters(): Map<string, Tensor> {
    return modelParameters(this.tensors());
  }

  /** Tensors that are saved but never trained (the Performer projection W of SEA/Performer layers), as new handles. */
  buffers(): Map<string, Tensor> {
    return modelBuffers(this.tensors());
  }

  /** Frees the weights and the attention modules. */
  dispose(): void {
    for (const l of this.layers) l.attention.dispose();
    for (const t of this.#owned) t.dispose();
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }

  /**
   * Embeddings and layers 0…`stopAfterLayer` (default all) with the hooks, and nothing after them:
   * `hidden` is the last layer's output (before any final norm or head). The caller disposes it.
   */
  async forwardLayers(inputIds: IdsInput, opts: FO): Promise<LayerLoopOutput> {
    return tidyAsync(async () => this.layerLoop(await this.begin(inputIds, opts), opts));
  }

  /** Checks the inputs and brings them to the backend (call it inside the forward's memory scope). */
  protected async begin(inputIds: IdsInput, opts: FO): Promise<ForwardRun> {
    const f = this.family;
    const c = this.config;
    const ids = await toHostIds(inputIds, 'inputIds', opts.shape);
    checkIds(ids, c.vocabSize);
    const { B, T } = ids;
    const cache = opts.cache;
    const pastLength = cache?.pastLength ?? 0;
    if (cache) {
      if (opts.checkpoint) {
        throw new ModelInputError('checkpoint (activation checkpointing) cannot be used with a cache');
      }
      if (!Number.isInteger(pastLength) || pastLength < 0) {
        throw new ModelInputError(`cache.pastLength must be a whole number ≥ 0, got ${pastLength}`);
      }
      if (cache.layers.length !== this.layers.length) {
        throw new ModelInputError(
          `cache has ${cache.layers.length} layer states, the model ${this.layers.length} layers`,
        );
      }
    }
    const max = c.maxPositionEmbeddings;
    if (pastLength + T > max) {
      const what = pastLength ? `${pastLength} cached + ${T} new tokens` : `${T} tokens`;
      throw new ModelInputError(
        `input has ${what} but max_position_embeddings is ${max}; ${f.tooLongHint(max)}`,
      );
    }
    const S = pastLength + T;
    let mask: Int32Array;
    if (pastLength === 0) mask = await toHostMask(opts.attentionMask, ids);
    else if (opts.attentionMask === undefined) mask = new Int32Array(B * S).fill(1);
    else {
      const m = await toHostIds(opts.attentionMask, 'attentionMask', [B, S]);
      if (m.B !== B || m.T !== S) {
        throw new ModelInputError(
          `attentionMask has shape [${m.B},${m.T}]; with ${pastLength} cached tokens it must be [${B},${S}] (past and new tokens)`,
        );
      }
      mask = await toHostMask(m.values, { values: m.values, B, T: S });
    }
    let validCounts: Int32Array | undefined;
    if (cache)
      validCounts = this.checkCachedMask(
        cache,
        mask,
        B,
        T,
        opts.stopAfterLayer,
        opts.captureAttention ?? false,
      );
    else if (f.attention(c).causal) {
      const sparse = this.layers.find((l) => l.kind !== 'dense');
      if (sparse) {
        for (let i = 0; i + 1 < B * S; i++) {
          if ((i + 1) % S !== 0 && mask[i] === 0 && mask[i + 1] === 1) {
            throw new ModelInputError(
              `row ${Math.floor(i / S)} is left-padded, but '${sparse.kind}' attention takes right padding only (causal SEA assumes row t sees keys 0..t); pad on the right`,
            );
          }
        }
      }
    }
    if (opts.stopAfterLayer !== undefined) {
      const n = opts.stopAfterLayer;
      if (!Number.isInteger(n) || n < 0 || n >= this.layers.length) {
        throw new ModelInputError(
          `stopAfterLayer must be a layer index in [0, ${this.layers.length - 1}], got ${n}`,
        );
      }
    }
    const p = parameterOverrides(this.tensors(), opts.parameters, (m) => new ModelInputError(m));
    const keyValid = tensor(Uint8Array.from(mask), [B, S], { backend: this.backend, dtype: 'bool' });
    // each row's leading valid tokens, when no row has a valid token after its padding
    let validLengths: Int32Array | undefined = new Int32Array(B);
    for (let b = 0; b < B && validLengths; b++) {
      let n = 0;
      while (n < S && mask[b * S + n]) n++;
      for (let t = n; t < S; t++) if (mask[b * S + t]) validLengths = undefined;
      if (validLengths) validLengths[b] = n;
    }
    return {
      ids,
      B,
      T,
      pastLength,
      mask,
      ...(validCounts ? { validCounts } : {}),
      keyValid,
      ...(validLengths ? { validLengths } : {}),
      p,
      capture: opts.captureAttention ?? false,
      backend: this.backend,
    };
  }

  /**
   * The mask rules of cached (incremental) calls: the first call (the prompt) may be left-padded,
   * each row's tokens last; later calls add one token per row, none of them padding.
   */
  private checkCachedMask(
    cache: ForwardCache,
    mask: Int32Array,
    B: number,
    T: number,
    stopAfterLayer: number | undefined,
    capture: boolean,
  ): Int32Array {
    if (stopAfterLayer !== undefined) throw new ModelInputError('stopAfterLayer cannot be used with a cache');
    if (capture) throw new ModelInputError('captureAttention cannot be used with a cache');
    const S = cache.pastLength + T;
    const started = cache.layers.map((l) => l !== undefined);
    if (started.some((x) => x !== started[0]) || started[0] !== cache.pastLength > 0) {
      throw new ModelInputError(
        `cache is inconsistent: pastLength ${cache.pastLength} but ${started.filter(Boolean).length} of ${started.length} layers hold state`,
      );
    }
    const counts = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      for (let s = cache.pastLength; s < S; s++) {
        const m = mask[b * S + s];
        if (s > cache.pastLength && mask[b * S + s - 1] === 1 && m === 0) {
          throw new ModelInputError(
            `row ${b} is right-padded; with a cache, pad on the left (each row's tokens last) so new tokens follow them`,
          );
        }
        counts[b] += m;
      }
      if (cache.pastLength === 0 && counts[b] === 0)
        throw new ModelInputError(`row ${b} has no tokens (all padding)`);
      if (cache.pastLength > 0 && counts[b] !== T) {
        throw new ModelInputError(`row ${b}: new tokens after the prompt cannot be padding`);
      }
    }
    if (cache.pastLength > 0 && T !== 1) {
      throw new ModelInputError(
        `with a filled cache, forward takes one new token per row, got ${T} (run the prompt in the first call)`,
      );
    }
    return counts;
  }

  /**
   * Embeddings, then the layers (each in its own memory scope), with capture and hooks. Runs inside
   * the caller's scope: what it returns belongs to the caller.
   */
  protected async layerLoop(run: ForwardRun, opts: FO): Promise<LayerLoopOutput> {
    const { B, T, backend } = run;
    const attn = this.family.attention(this.config);
    const { heads: H, headDim: D } = attn;
    const hooks = opts.onLayer;
    const out: LayerLoopOutput = { hidden: await this.embed(run, opts) };
    if (opts.outputHiddenStates) out.hiddenStates = [];
    if (run.capture) {
      out.layers = [];
      const m = new Float32Array(B * T * T);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < T; j++) {
            if ((attn.causal && j > t) || !run.mask[b * T + j]) m[(b * T + t) * T + j] = MODEL_FP_MIN;
          }
        }
      }
      // in the model's dtype, so a 16-bit model's scores add to it (MODEL_FP_MIN: finite in bfloat16,
      // -Infinity in float16)
      const dtype = this.weights.values().next().value?.dtype ?? 'float32';
      out.logitMask = tensor(m, [B, 1, T, T], { backend, dtype });
    }
    const last = opts.stopAfterLayer ?? this.layers.length - 1;
    /** Names of each SEA layer's training outputs, in the order `runLayer` returns them. */
    const trainingKeys: string[][] = [];
    /** Layers whose hook has run (a checkpointed layer runs again in backward, unhooked). */
    const hooked = new Set<number>();
    // layer li on [hidden, keyValid, logitMask] → [hidden', context?, logits? | training…]: every
    // non-parameter tensor it reads comes in `ins`, and its intermediates are freed on return, so a
    // checkpointing trainer can run it again in backward on the inputs alone
    const runLayer = (li: number, ins: readonly (Tensor | null)[]): Promise<Tensor[]> =>
      tidyAsync(async () => {
        const [input, keyValid, logitMask] = ins as [Tensor, Tensor, Tensor | null];
        const L = this.layers[li];
        const hook = hooks && !hooked.has(li) ? hooks : undefined;
        hooked.add(li);
        const extraOuts: Tensor[] = [];
        const lin = (x: Tensor, [w, b]: Linear, o?: Parameters<typeof linear>[3]) =>
          linear(x, run.p(w), b && run.p(b), o);
        const selfAttention = async (
          y: Tensor,
          proj: { q: Linear; k: Linear; v: Linear },
          qScale?: number,
        ) => {
          if (opts.cache) return this.cachedAttention(li, run, opts, y, proj, qScale, input);
          // dense attention reads the projections as [B,T,H,D] in place (no head transposes)
          const inPlace = L.kind === 'dense' && !run.capture && !hooks;
          const split = (t: Tensor) =>
            inPlace ? t.reshape([B, T, H, D]) : transpose(t.reshape([B, T, H, D]), [0, 2, 1, 3]);
          const qp = lin(y, proj.q);
          const q = split(qScale === undefined ? qp : mul(qp, qScale));
          const k = split(lin(y, proj.k));
          const v = split(lin(y, proj.v));
          const own = Object.entries(L.attention.weights);
          const moduleWeights = own.some(([, t]) => run.p(t) !== t)
            ? Object.fromEntries(own.map(([n, t]) => [n, run.p(t)]))
            : undefined;
          const training = run.capture && L.kind === 'sea';
          const extra: AttentionForwardOptions = {};
          if (run.validLengths) extra.validLengths = run.validLengths;
          if (inPlace) extra.layout = 'bthd';
          if (moduleWeights) extra.weights = moduleWeights;
          if (training) Object.assign(extra, { path: 'dense', returnTraining: true });
          if (hook && L.kind === 'sea') Object.assign(extra, { returnEstimate: true, returnMask: true });
          const res = await L.attention.forward(q, k, v, { keyValid, ...extra });
          if (run.capture) {
            extraOuts.push(res.context);
            if (res.training) {
              trainingKeys[li] = Object.keys(res.training);
              extraOuts.push(...Object.values(res.training));
            } else if (L.kind === 'dense') {
              const s = matmul(q, k, { transB: true });
              const scaled = attn.scoreScale === 1 ? s : mul(s, attn.scoreScale);
              extraOuts.push(add(scaled, logitMask as Tensor));
            }
          }
          if (hook) {
            const view: LayerView = { hidden: input, q, k, v, context: res.context };
            if (res.estimate) view.estimate = res.estimate;
            if (res.mask) view.mask = res.mask;
            await hook(li, view);
          }
          return res.context;
        };
        const layerRun: LayerRun<LW> = {
          layerIndex: li,
          weights: L.weights,
          p: run.p,
          state: opts.cache?.layers[li],
          positionOffset: run.pastLength,
          selfAttention,
          linear: lin,
        };
        const hidden = await this.layer(layerRun, input);
        return [hidden, ...extraOuts];
      });
    for (let li = 0; li <= last; li++) {
      const L = this.layers[li];
      const input = out.hidden;
      out.hiddenStates?.push(input);
      const ins = [input, run.keyValid, out.logitMask ?? null];
      const outs = opts.checkpoint
        ? await opts.checkpoint(ins, (x) => runLayer(li, x))
        : await runLayer(li, ins);
      out.hidden = outs[0];
      if (run.capture) {
        const captured: LayerCapture = { context: outs[1] };
        if (L.kind === 'sea' && trainingKeys[li]) {
          captured.training = Object.fromEntries(
            trainingKeys[li].map((n, j) => [n, outs[2 + j]]),
          ) as unknown as SeaTrainingOutputs;
        } else if (L.kind === 'dense') captured.logits = outs[2];
        out.layers?.push(captured);
      }
    }
    if (opts.cache) opts.cache.pastLength += T;
    return out;
  }
}
