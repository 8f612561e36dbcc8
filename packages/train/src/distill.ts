/**
 * The distillation loop (spec §9): a frozen dense OPT teacher, a student with the teacher's weights
 * and SEA (or Performer) attention in every layer, the model-level OPT loss with the per-layer SEA
 * losses, AdamW with two LR groups and clipping, perplexity evaluation, checkpoints that resume to
 * the same next step. Batches are a function of (seed, step), so a resumed run sees the same data.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { TrainError } from './errors.js';
import { causalLmLoss, distillationLoss, type LayerLoss, mse, seaLayerLoss } from './losses.js';
import {
  type AttentionFn,
  denseAttention,
  type OptConfig,
  optConfigFromHf,
  optForward,
  type Weights,
} from './model/opt.js';
import {
  initSeaWeights,
  isBuffer,
  performerCausalAttention,
  seaCausalAttention,
} from './model/sea_causal.js';
import { AdamW, isSeaParam } from './optim.js';
import { valueAndGradAux } from './tape.js';

export interface DistillOptions {
  attention: 'sea' | 'performer';
  k: number;
  predictorLength: number;
  nbf: number;
  seqLen: number;
  batch: number;
  /** Base lr (spec: 1e-5); non-SEA weights train at baseScale·lr, SEA weights at seaScale·lr. */
  lr: number;
  baseScale: number;
  seaScale: number;
  maxGradNorm: number;
  seed: number;
  /** Eval windows (non-overlapping, seqLen tokens) taken from the held-out tail of the data. */
  evalWindows: number;
  /** Fraction of the tokens held out for evaluation. */
  evalFraction: number;
}

export const DEFAULT_DISTILL: DistillOptions = {
  attention: 'sea',
  k: 64,
  predictorLength: 256,
  nbf: 8,
  seqLen: 2048,
  batch: 1,
  lr: 1e-5,
  baseScale: 0.2,
  seaScale: 10,
  maxGradNorm: 1,
  seed: 0,
  evalWindows: 8,
  evalFraction: 0.1,
};

export interface StepLog {
  step: number;
  loss: number;
  ce: number;
  hidden: number;
  logitsKl: number;
  layer: number;
  approx: number;
  prob: number;
  context: number;
  gradNorm: number;
  ms: number;
}

async function num(t: Tensor): Promise<number> {
  return (await t.data())[0];
}

export class Distiller {
  readonly opts: DistillOptions;
  params: Record<string, Tensor>;
  readonly buffers: Record<string, Tensor>;
  readonly optimizer: AdamW;
  readonly attention: AttentionFn;
  readonly train: Int32Array;
  readonly heldOut: Int32Array;

  private constructor(
    readonly cfg: OptConfig,
    readonly teacher: Weights,
    tokens: Int32Array,
    opts: DistillOptions,
    student: Weights,
  ) {
    this.opts = opts;
    const split = Math.max(opts.seqLen + 1, Math.floor(tokens.length * (1 - opts.evalFraction)));
    this.train = tokens.subarray(0, split);
    this.heldOut = tokens.subarray(split);
    if (this.train.length < opts.seqLen) {
      throw new TrainError(
        `data has ${tokens.length} tokens; need at least ${opts.seqLen} for --seq-len ${opts.seqLen}`,
      );
    }
    this.params = {};
    this.buffers = {};
    for (const [n, t] of Object.entries(student)) (isBuffer(n) ? this.buffers : this.params)[n] = t;
    this.optimizer = new AdamW({
      lr: opts.lr,
      baseScale: opts.baseScale,
      seaScale: opts.seaScale,
      maxGradNorm: opts.maxGradNorm,
      isSea: isSeaParam,
    });
    const weights = () => ({ ...this.params, ...this.buffers });
    this.attention =
      opts.attention === 'sea'
        ? seaCausalAttention(cfg, opts, weights).attention
        : performerCausalAttention(cfg, weights);
  }

  /** A student initialised from the teacher (weights shared until the first update) plus fresh SEA weights. */
  static create(
    cfg: OptConfig,
    teacher: Weights,
    tokens: Int32Array,
    o: Partial<DistillOptions> = {},
  ): Distiller {
    const opts = { ...DEFAULT_DISTILL, ...o };
    if (opts.seqLen > cfg.maxPositions) {
      throw new TrainError(
        `--seq-len ${opts.seqLen} exceeds the model's max_position_embeddings ${cfg.maxPositions}`,
      );
    }
    const dtype = teacher['model.decoder.embed_tokens.weight'].dtype === 'float64' ? 'float64' : 'float32';
    const student: Weights = {};
    for (const [n, t] of Object.entries(teacher)) student[n] = sea.wrap(t.backend, t).keep();
    const seaW = initSeaWeights(cfg, opts, opts.seed + 1, dtype);
    for (const [n, t] of Object.entries(seaW)) student[n] = t.keep();
    return new Distiller(cfg, teacher, tokens, opts, student);
  }

  /** Rebuilds a run from `dir` (latest checkpoint); the next step equals the uninterrupted run's. */
  static async resume(dir: string, cfg: OptConfig, teacher: Weights, tokens: Int32Array): Promise<Distiller> {
    const c = await loadCheckpoint(dir);
    const opts = { ...DEFAULT_DISTILL, ...(c.state.options as Partial<DistillOptions>) };
    const d = new Distiller(cfg, teacher, tokens, opts, { ...c.model, ...c.sea });
    d.optimizer.loadState(c.optimizer, c.step);
    return d;
  }

  get step(): number {
    return this.optimizer.step;
  }

  /** The batch of step `s`: `batch` random windows of seqLen tokens, drawn from (seed, s) alone. */
  batchIds(s: number): Tensor {
    const { seqLen: T, batch: B } = this.opts;
    const rng = new sea.Rng((Math.imul(this.opts.seed + 1, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca6b)) >>> 0);
    const starts = this.train.length - T + 1;
    const ids = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s0 = rng.int(starts);
      ids.set(this.train.subarray(s0, s0 + T), b * T);
    }
    return sea.tensor(ids, [B, T], { dtype: 'int32' });
  }

  /** One optimizer step; returns the logged losses. */
  async trainStep(): Promise<StepLog> {
    const t0 = performance.now();
    const ids = this.batchIds(this.step);
    const teacher = sea.tidy(() => {
      const f = optForward(this.cfg, this.teacher, ids, denseAttention);
      return {
        logits: f.logits,
        hidden: f.hidden,
        scores: f.attention.map((a) => a.scores as Tensor),
        contexts: f.attention.map((a) => a.context),
      };
    });
    const weights = () => ({ ...this.params, ...this.buffers });
    const r = valueAndGradAux(() => {
      const f = optForward(this.cfg, weights(), ids, this.attention);
      const ce = causalLmLoss(f.logits, ids);
      const layers: LayerLoss[] = f.attention.map((a, i) => {
        if (a.approxLogits && a.scores) {
          return seaLayerLoss({
            teacherLogits: teacher.scores[i],
            approxLogits: a.approxLogits,
            studentScores: a.scores,
            mask: f.mask,
            teacherContext: teacher.contexts[i],
            context: a.context,
            causal: true,
          });
        }
        // Performer baseline: no estimate and no dense scores, only the context term
        const context = mse(teacher.contexts[i], a.context);
        const zero = sea.mul(context, 0);
        return { approx: zero, prob: zero, context, total: context };
      });
      const loss = distillationLoss('opt', {
        ce,
        teacherHidden: teacher.hidden,
        studentHidden: f.hidden,
        teacherLogits: teacher.logits,
        studentLogits: f.logits,
        layers,
      });
      return { loss: loss.total, aux: loss };
    }, this.params);
    const { params, gradNorm } = this.optimizer.apply(this.params, r.grads);
    this.params = params;
    const a = r.aux;
    const log: StepLog = {
      step: this.step,
      loss: await num(r.value),
      ce: await num(a.ce),
      hidden: await num(a.hidden),
      logitsKl: await num(a.logitsKl),
      layer: await num(a.layer),
      approx: await num(a.approx),
      prob: await num(a.prob),
      context: await num(a.context),
      gradNorm: await num(gradNorm),
      ms: 0,
    };
    for (const t of [
      r.value,
      a.ce,
      a.hidden,
      a.logitsKl,
      a.layer,
      a.approx,
      a.prob,
      a.context,
      gradNorm,
      ids,
    ])
      t.dispose();
    for (const g of Object.values(r.grads)) g.dispose();
    for (const t of [teacher.logits, ...teacher.hidden, ...teacher.scores, ...teacher.contexts]) t.dispose();
    log.ms = performance.now() - t0;
    return log;
  }

  /** Perplexity of the student (and the teacher) on non-overlapping held-out windows. */
  async evalPerplexity(): Promise<{ ppl: number; teacherPpl: number; windows: number }> {
    const T = this.opts.seqLen;
    const src = this.heldOut.length >= T ? this.heldOut : this.train;
    const n = Math.min(this.opts.evalWindows, Math.floor(src.length / T));
    let s = 0;
    let st = 0;
    const weights = { ...this.params, ...this.buffers };
    for (let w = 0; w < n; w++) {
      const [l, lt] = sea.tidy(() => {
        const ids = sea.tensor(src.subarray(w * T, (w + 1) * T), [1, T], { dtype: 'int32' });
        return [
          causalLmLoss(optForward(this.cfg, weights, ids, this.attention).logits, ids),
          causalLmLoss(optForward(this.cfg, this.teacher, ids, denseAttention).logits, ids),
        ];
      });
      s += await num(l);
      st += await num(lt);
      l.dispose();
      lt.dispose();
    }
    return { ppl: Math.exp(s / Math.max(n, 1)), teacherPpl: Math.exp(st / Math.max(n, 1)), windows: n };
  }

  async save(dir: string): Promise<string> {
    const model: Record<string, Tensor> = {};
    const seaW: Record<string, Tensor> = { ...this.buffers };
    for (const [n, t] of Object.entries(this.params)) (isSeaParam(n) ? seaW : model)[n] = t;
    const { tensors } = this.optimizer.stateTensors();
    return saveCheckpoint(dir, {
      step: this.step,
      model,
      sea: seaW,
      optimizer: tensors,
      state: { options: this.opts, config: this.cfg },
    });
  }

  dispose(): void {
    for (const t of Object.values(this.params)) t.dispose();
    for (const t of Object.values(this.buffers)) t.dispose();
    this.optimizer.dispose();
  }
}

/** Reads an HF OPT folder (config.json + safetensors) as float32 teacher weights. */
export async function loadOptTeacher(dir: string): Promise<{ cfg: OptConfig; weights: Weights }> {
  const cfgJson = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const cfg = optConfigFromHf(cfgJson);
  const ck = await sea.openCheckpoint(dir);
  const weights: Weights = {};
  try {
    for (const n of ck.names()) {
      if (n === 'lm_head.weight') continue; // tied to embed_tokens
      const name = n.startsWith('model.') ? n : `model.${n}`;
      weights[name] = (await ck.readTensor(n, { dtype: 'float32' })).keep();
    }
  } finally {
    await ck.close();
  }
  return { cfg, weights };
}

/** Token ids from a file: a JSON array, or integers separated by whitespace or commas. */
export async function readTokenIds(file: string, vocabSize: number): Promise<Int32Array> {
  const text = await fs.readFile(file, 'utf8');
  const trimmed = text.trim();
  let values: number[];
  if (trimmed.startsWith('[')) values = JSON.parse(trimmed) as number[];
  else {
    const parts = trimmed.split(/[\s,]+/).filter(Boolean);
    if (parts.some((p) => !/^\d+$/.test(p))) {
      throw new TrainError(
        `${file}: expected token ids (a JSON array or integers separated by spaces/commas); tokenize the text first`,
      );
    }
    values = parts.map(Number);
  }
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= vocabSize);
  if (bad >= 0)
    throw new TrainError(
      `${file}: token ${values[bad]} at position ${bad} is outside the vocabulary [0, ${vocabSize})`,
    );
  return Int32Array.from(values);
}
