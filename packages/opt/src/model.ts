/**
 * OPT causal language model (Hugging Face `OPTForCausalLM`) over @sea/tensor ops, with the
 * attention method of each layer chosen by name. Every config variant HF has: pre- or post-LN,
 * project_in/project_out when word_embed_proj_dim ≠ hidden_size, learned positions offset by 2 and
 * counted from the attention mask (so left padding works), tied or separate LM head, biases and
 * LayerNorm affine parameters on or off.
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
  type LayerCheckpoint,
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
  full,
  gather,
  layerNorm,
  linear,
  matmul,
  mul,
  type Tensor,
  tensor,
  add as tensorAdd,
  transpose,
} from '@sea/tensor';
import type { Checkpoint } from '@sea/tensor/node';
import { type OptConfig, readOptConfig } from './config.js';

/** SEA settings of the paper's OPT runs (spec §10): K=256, k=64, nbf=8; `seaConfig` overrides them. */
export const OPT_SEA_DEFAULTS: SeaDefaults = { predictorLength: 256, k: 64, nbFeatureFactor: 8 };

/** HF OPT's learned positions start at index 2 (fairseq's padding offset). */
export const OPT_POSITION_OFFSET = 2;

export interface OptLoadOptions {
  backend?: Backend;
  /** Attention per layer (default 'dense'; exact attention, the parity-tested path). */
  attention?: AttentionChoice;
  /**
   * SeaAttentionConfig settings for 'sea'/'performer' layers (predictorLength, k, nbFeatureFactor,
   * topkMode, path, …), over OPT_SEA_DEFAULTS.
   */
  seaConfig?: Readonly<Record<string, unknown>>;
  /**
   * SEA weights: a safetensors file or folder with `model.decoder.layers.{i}.self_attn.sea.<name>`
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

export interface OptForwardOptions {
  /** 1 for tokens, 0 for padding, [B, T] (default all ones). Left and right padding both work. */
  attentionMask?: IdsInput;
  /** Shape [B, T] of flat `inputIds` (default [1, length]). */
  shape?: readonly [number, number];
  /** Return Hugging Face's `hidden_states`: the embeddings, the input of every later layer, the final output. */
  outputHiddenStates?: boolean;
  /**
   * Use these tensors instead of the model's own, by the names of {@link OptForCausalLM.parameters}
   * and {@link OptForCausalLM.buffers} (e.g. a trainer's current parameters; any subset).
   */
  parameters?: ReadonlyMap<string, Tensor>;
  /**
   * Return per-layer attention outputs for distillation (spec §8–§9a) in `layers`: every layer's
   * context before out_proj; dense layers (the teacher) also their masked attention logits
   * q·kᵀ + mask; SEA layers run their dense path with `returnTraining` (Â↑, S, masks).
   */
  captureAttention?: boolean;
  /**
   * Runs each decoder layer through this (activation checkpointing: @sea/train's `checkpoint`
   * records the layer's inputs and outputs only and runs it again in backward).
   */
  checkpoint?: LayerCheckpoint;
}

/** One layer's captured attention (OptForwardOptions.captureAttention); the caller disposes the tensors. */
export interface OptLayerCapture {
  /** Per-head context before out_proj [B, T, H·D] (SEA: the mixed C_sea). */
  context: Tensor;
  /** Dense layers: q·kᵀ + mask [B, H, T, T] (q pre-scaled by D^-1/2; mask 0 / FP_MIN, causal + padding). */
  logits?: Tensor;
  /** SEA layers: the dense path's training outputs. */
  training?: SeaTrainingOutputs;
}

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
export const OPT_FP_MIN = -1.7014117331926443e38;

/** Name of layer i's SEA/Performer module tensor `name` (the naming of SEA weights files). */
export const seaParameterName = (layer: number, name: string, prefix = 'model.') =>
  `${prefix}decoder.layers.${layer}.self_attn.sea.${name}`;

interface LayerNormWeights {
  gamma: Tensor;
  beta: Tensor;
}

interface OptLayer {
  q: [Tensor, Tensor | null];
  k: [Tensor, Tensor | null];
  v: [Tensor, Tensor | null];
  o: [Tensor, Tensor | null];
  fc1: [Tensor, Tensor | null];
  fc2: [Tensor, Tensor | null];
  attnLn: LayerNormWeights;
  ffnLn: LayerNormWeights;
  attention: AttentionModule;
  kind: AttentionKind;
}

/** Keeps what one forward pass creates, to dispose it at the end. */
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

export class OptForCausalLM {
  private constructor(
    readonly config: OptConfig,
    readonly backend: Backend,
    private readonly weights: Map<string, Tensor>,
    private readonly layers: OptLayer[],
    private readonly owned: Tensor[],
  ) {}

  /** Attention kind of each layer. */
  get attentionKinds(): AttentionKind[] {
    return this.layers.map((l) => l.kind);
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
    const all = new Map(weights instanceof Map ? weights : Object.entries(weights));
    const backend = opts.backend ?? currentBackend();
    const prefix = all.has('model.decoder.embed_tokens.weight') ? 'model.' : '';
    const specs = optWeightSpecs(config, prefix);
    const known = new Set(specs.map((s) => s.name));
    const model = new Map<string, Tensor>();
    const sea = new Map<number, Record<string, Tensor>>();
    const seaRe = /^(?:model\.)?decoder\.layers\.(\d+)\.self_attn\.sea\.(.+)$/;
    for (const [name, t] of all) {
      const m = seaRe.exec(name);
      if (m) {
        const i = Number(m[1]);
        const rec = sea.get(i) ?? {};
        rec[m[2]] = t;
        sea.set(i, rec);
      } else if (known.has(name)) model.set(name, t);
      else throw new ModelLoadError(`OptForCausalLM.fromWeights: unexpected tensor '${name}'`);
    }
    for (const spec of specs) {
      const t = model.get(spec.name);
      if (!t) {
        if (spec.optional) continue;
        throw new ModelLoadError(
          `OptForCausalLM.fromWeights: missing '${spec.name}' [${spec.shape}] (${spec.why})`,
        );
      }
      if (t.rank !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new ModelLoadError(
          `OptForCausalLM.fromWeights: '${spec.name}' has shape [${t.shape}], expected [${spec.shape}] (${spec.why})`,
        );
      }
    }
    return OptForCausalLM.assemble(config, backend, model, prefix, opts, (i) => sea.get(i) ?? {});
  }

  /** Loads a Hugging Face OPT folder: config.json + model.safetensors (or a sharded index). */
  static async load(dir: string, opts: OptLoadOptions = {}): Promise<OptForCausalLM> {
    const config = await readOptConfig(dir);
    const backend = opts.backend ?? currentBackend();
    const ckpt = await openModelCheckpoint(dir);
    try {
      const prefix = detectPrefix(ckpt);
      const specs = optWeightSpecs(config, prefix);
      const weights = await readWeights(ckpt, specs, backend, opts.dtype ?? 'float32');
      return await OptForCausalLM.assemble(config, backend, weights, prefix, opts);
    } finally {
      await ckpt.close();
    }
  }

  private static async assemble(
    c: OptConfig,
    backend: Backend,
    weights: Map<string, Tensor>,
    prefix: string,
    opts: OptLoadOptions,
    layerWeightsOf?: (layer: number) => Record<string, Tensor>,
  ): Promise<OptForCausalLM> {
    const owned: Tensor[] = [];
    const pending: Tensor[] = [];
    const layers: OptLayer[] = [];
    const seaFile = opts.seaWeights ? await openModelCheckpoint(opts.seaWeights) : null;
    try {
      const ln = (name: string): LayerNormWeights => {
        const n = c.hiddenSize;
        let gamma = weights.get(`${name}.weight`);
        let beta = weights.get(`${name}.bias`);
        if (!gamma) {
          gamma = full([n], 1, { backend, dtype: opts.dtype ?? 'float32' });
          owned.push(gamma);
        }
        if (!beta) {
          beta = full([n], 0, { backend, dtype: opts.dtype ?? 'float32' });
          owned.push(beta);
        }
        return { gamma, beta };
      };
      const lin = (name: string): [Tensor, Tensor | null] => [
        weights.get(`${name}.weight`) as Tensor,
        weights.get(`${name}.bias`) ?? null,
      ];
      const H = c.numAttentionHeads;
      const D = c.hiddenSize / H;
      for (let i = 0; i < c.numHiddenLayers; i++) {
        const p = `${prefix}decoder.layers.${i}`;
        const kind = attentionKindOf(opts.attention, i);
        const layerWeights =
          kind === 'dense'
            ? {}
            : layerWeightsOf
              ? layerWeightsOf(i)
              : await readSeaWeights(
                  seaFile,
                  `model.decoder.layers.${i}.self_attn.sea.`,
                  backend,
                  opts.dtype ?? 'float32',
                );
        pending.push(...Object.values(layerWeights));
        const attention = createLayerAttention(
          kind,
          { causal: true, heads: H, headDim: D, scoreScale: 1, maxPositions: c.maxPositionEmbeddings },
          {
            seaConfig: opts.seaConfig,
            defaults: OPT_SEA_DEFAULTS,
            seed: (opts.seed ?? 0) + i,
            weights: Object.keys(layerWeights).length ? layerWeights : undefined,
            backend,
            dtype: opts.dtype,
          },
        );
        pending.length = 0; // the module owns them now
        layers.push({
          q: lin(`${p}.self_attn.q_proj`),
          k: lin(`${p}.self_attn.k_proj`),
          v: lin(`${p}.self_attn.v_proj`),
          o: lin(`${p}.self_attn.out_proj`),
          fc1: lin(`${p}.fc1`),
          fc2: lin(`${p}.fc2`),
          attnLn: ln(`${p}.self_attn_layer_norm`),
          ffnLn: ln(`${p}.final_layer_norm`),
          attention,
          kind,
        });
      }
      const finalLn =
        c.doLayerNormBefore && !c.removeFinalLayerNorm ? ln(`${prefix}decoder.final_layer_norm`) : null;
      const model = new OptForCausalLM(c, backend, weights, layers, owned);
      model.prefix = prefix;
      model.finalLn = finalLn;
      return model;
    } catch (e) {
      for (const l of layers) l.attention.dispose();
      for (const t of [...owned, ...pending, ...weights.values()]) t.dispose();
      throw e;
    } finally {
      await seaFile?.close();
    }
  }

  private prefix = 'model.';
  private finalLn: LayerNormWeights | null = null;

  private w(name: string): Tensor | undefined {
    return this.weights.get(`${this.prefix}decoder.${name}`);
  }

  /** The model's tensors as the shared parameter bookkeeping sees them. */
  private tensors(): ModelTensors {
    return {
      weights: this.weights,
      modules: this.layers.map((l) => l.attention),
      moduleName: (i, n) => seaParameterName(i, n, this.prefix),
    };
  }

  /**
   * Every trainable tensor by Hugging Face name, plus each SEA layer's predictor weights as
   * `model.decoder.layers.{i}.self_attn.sea.<name>` (the SEA weights-file naming; contains `.sea.`,
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

  /** Logits for every position, and optionally every hidden state. */
  async forward(inputIds: IdsInput, opts: OptForwardOptions = {}): Promise<OptOutput> {
    const c = this.config;
    const ids = await toHostIds(inputIds, 'inputIds', opts.shape);
    checkIds(ids, c.vocabSize);
    const { B, T } = ids;
    if (T > c.maxPositionEmbeddings) {
      throw new ModelInputError(
        `input has ${T} tokens but max_position_embeddings is ${c.maxPositionEmbeddings}; split it into windows of at most ${c.maxPositionEmbeddings} tokens`,
      );
    }
    const mask = await toHostMask(opts.attentionMask, ids);
    const sparse = this.layers.find((l) => l.kind !== 'dense');
    if (sparse) {
      for (let i = 0; i + 1 < B * T; i++) {
        if ((i + 1) % T !== 0 && mask[i] === 0 && mask[i + 1] === 1) {
          throw new ModelInputError(
            `row ${Math.floor(i / T)} is left-padded, but '${sparse.kind}' attention takes right padding only (causal SEA assumes row t sees keys 0..t); pad on the right`,
          );
        }
      }
    }
    const backend = this.backend;
    const P = this.overrides(opts.parameters);
    const lin = ([w, b]: [Tensor, Tensor | null]): [Tensor, Tensor | null] => [P(w), b && P(b)];
    const capture = opts.captureAttention ?? false;
    const captured: OptLayerCapture[] = [];
    const a = new Arena();
    const keep = new Set<Tensor>();
    try {
      // positions: cumsum of the mask − 1 (−1 at padding), plus the offset, as HF computes them
      const pos = new Int32Array(B * T);
      const valid = new Uint8Array(B * T);
      for (let b = 0; b < B; b++) {
        let n = 0;
        for (let t = 0; t < T; t++) {
          const m = mask[b * T + t];
          n += m;
          pos[b * T + t] = (m ? n - 1 : -1) + OPT_POSITION_OFFSET;
          valid[b * T + t] = m;
        }
      }
      const idsT = a.k(tensor(ids.values, [B, T], { backend, dtype: 'int32' }));
      const posT = a.k(tensor(pos, [B, T], { backend, dtype: 'int32' }));
      const keyValid = a.k(tensor(valid, [B, T], { backend, dtype: 'bool' }));

      let x = a.k(gather(P(this.w('embed_tokens.weight') as Tensor), idsT));
      const projIn = this.w('project_in.weight');
      if (projIn) x = a.k(linear(x, P(projIn)));
      let h = a.k(tensorAdd(x, a.k(gather(P(this.w('embed_positions.weight') as Tensor), posT))));
      let logitMask: Tensor | undefined;
      if (capture) {
        const m = new Float32Array(B * T * T);
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            for (let j = 0; j < T; j++) if (j > t || !valid[b * T + j]) m[(b * T + t) * T + j] = OPT_FP_MIN;
          }
        }
        // in the model's dtype (float32 unless loaded with { dtype })
        const dt = (this.w('embed_tokens.weight') as Tensor).dtype;
        logitMask = a.k(tensor(m, [B, 1, T, T], { backend, dtype: dt }));
        keep.add(logitMask);
      }
      const hidden: Tensor[] = [];
      const H = c.numAttentionHeads;
      const D = c.hiddenSize / H;
      const trainingKeys: string[][] = [];
      // one decoder layer: [h, keyValid, logitMask] → [h', context?, logits? | training…]; its
      // intermediates are freed on return (a checkpointing trainer runs it again in backward)
      const runLayer = async (li: number, ins: (Tensor | null)[]): Promise<Tensor[]> => {
        const [hIn, kv, lm] = ins as [Tensor, Tensor, Tensor | null];
        const L = this.layers[li];
        const la = new Arena();
        const heads = (t: Tensor) => la.k(transpose(la.k(t.reshape([B, T, H, D])), [0, 2, 1, 3]));
        const outs: Tensor[] = [];
        let ok = false;
        try {
          const attnLn = { gamma: P(L.attnLn.gamma), beta: P(L.attnLn.beta) };
          const ffnLn = { gamma: P(L.ffnLn.gamma), beta: P(L.ffnLn.beta) };
          // self-attention block
          let r = hIn;
          let y = c.doLayerNormBefore ? la.k(layerNorm(hIn, attnLn.gamma, attnLn.beta, c.layerNormEps)) : hIn;
          // dense attention reads the projections as [B,T,H,D] in place (no head transposes)
          const inPlace = L.kind === 'dense' && !capture;
          const split = inPlace ? (t: Tensor) => la.k(t.reshape([B, T, H, D])) : heads;
          const q = split(la.k(mul(la.k(linear(y, ...lin(L.q))), D ** -0.5)));
          const k = split(la.k(linear(y, ...lin(L.k))));
          const v = split(la.k(linear(y, ...lin(L.v))));
          const own = Object.entries(L.attention.weights);
          const moduleWeights = own.some(([, t]) => P(t) !== t)
            ? Object.fromEntries(own.map(([n, t]) => [n, P(t)]))
            : undefined;
          const training = capture && L.kind === 'sea';
          const out = await L.attention.forward(q, k, v, {
            keyValid: kv,
            ...(inPlace ? { layout: 'bthd' as const } : {}),
            ...(moduleWeights ? { weights: moduleWeights } : {}),
            ...(training ? { path: 'dense' as const, returnTraining: true } : {}),
          });
          const context = la.k(out.context);
          if (out.training) for (const t of Object.values(out.training)) la.k(t);
          const extra: Tensor[] = [];
          if (capture) {
            extra.push(context);
            if (out.training) {
              trainingKeys[li] = Object.keys(out.training);
              extra.push(...Object.values(out.training));
            } else if (L.kind === 'dense') {
              extra.push(la.k(tensorAdd(la.k(matmul(q, k, { transB: true })), lm as Tensor)));
            }
          }
          // the residual joins the output projection (one GEMM epilogue where the backend fuses it)
          let h = la.k(linear(context, ...lin(L.o), { residual: r }));
          if (!c.doLayerNormBefore) h = la.k(layerNorm(h, attnLn.gamma, attnLn.beta, c.layerNormEps));
          // feed-forward block
          r = h;
          y = c.doLayerNormBefore ? la.k(layerNorm(h, ffnLn.gamma, ffnLn.beta, c.layerNormEps)) : h;
          y =
            c.activationFunction === 'relu'
              ? la.k(linear(y, ...lin(L.fc1), { activation: 'relu' }))
              : la.k(this.activation(la.k(linear(y, ...lin(L.fc1)))));
          h = la.k(linear(y, ...lin(L.fc2), { residual: r }));
          if (!c.doLayerNormBefore) h = la.k(layerNorm(h, ffnLn.gamma, ffnLn.beta, c.layerNormEps));
          outs.push(h, ...extra);
          ok = true;
          return outs;
        } finally {
          la.dispose(ok ? new Set(outs) : new Set());
        }
      };
      for (let li = 0; li < this.layers.length; li++) {
        const L = this.layers[li];
        if (opts.outputHiddenStates) hidden.push(h);
        const ins = [h, keyValid, logitMask ?? null];
        const outs = opts.checkpoint
          ? await opts.checkpoint(ins, (x) => runLayer(li, x))
          : await runLayer(li, ins);
        for (const t of outs) a.k(t);
        h = outs[0];
        if (capture) {
          const entry: OptLayerCapture = { context: outs[1] };
          if (L.kind === 'sea') {
            entry.training = Object.fromEntries(
              trainingKeys[li].map((n, j) => [n, outs[2 + j]]),
            ) as unknown as SeaTrainingOutputs;
          } else if (L.kind === 'dense') entry.logits = outs[2];
          for (const t of outs.slice(1)) keep.add(t);
          captured.push(entry);
        }
      }
      if (this.finalLn) h = a.k(layerNorm(h, P(this.finalLn.gamma), P(this.finalLn.beta), c.layerNormEps));
      const projOut = this.w('project_out.weight');
      if (projOut) h = a.k(linear(h, P(projOut)));
      if (opts.outputHiddenStates) hidden.push(h);
      const head = P(this.lmHead());
      const logits = a.k(linear(h, head));
      keep.add(logits);
      for (const t of hidden) keep.add(t);
      const result: OptOutput = opts.outputHiddenStates ? { logits, hiddenStates: hidden } : { logits };
      if (capture) {
        result.layers = captured;
        result.logitMask = logitMask;
      }
      return result;
    } finally {
      a.dispose(keep);
    }
  }

  private lmHead(): Tensor {
    if (!this.config.tieWordEmbeddings) {
      const w = this.weights.get('lm_head.weight');
      if (w) return w;
    }
    return this.w('embed_tokens.weight') as Tensor;
  }

  private activation(x: Tensor): Tensor {
    return applyActivation(this.config.activationFunction, x);
  }

  /** Frees the weights and the attention modules. */
  dispose(): void {
    for (const l of this.layers) l.attention.dispose();
    for (const t of this.owned) t.dispose();
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }
}

/** 'model.' for OPTForCausalLM checkpoints, '' for OPTModel ones. */
function detectPrefix(ckpt: Checkpoint): string {
  for (const p of ['model.', '']) if (ckpt.has(`${p}decoder.embed_tokens.weight`)) return p;
  const some = ckpt.names().slice(0, 3).join(', ');
  throw new ModelLoadError(
    `checkpoint ${ckpt.file} has no 'model.decoder.embed_tokens.weight' (nor 'decoder.embed_tokens.weight'): not an OPT checkpoint (first tensors: ${some})`,
  );
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
    specs.push({ name: `${name}.weight`, shape: [d], why: `hidden_size=${d}` });
    specs.push({ name: `${name}.bias`, shape: [d], why: `hidden_size=${d}`, optional: true });
  };
  const linSpecs = (name: string, out: number, inp: number, why: string) => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], why });
    if (c.enableBias) specs.push({ name: `${name}.bias`, shape: [out], why });
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
