/**
 * The distillation loop (spec §9): a frozen dense OPT teacher (@sea/opt's OptForCausalLM), a student
 * OptForCausalLM with the teacher's weights and SEA (or Performer) attention in every layer (SEA on
 * its dense training path, @sea/sparse-attention), the model-level OPT loss with the per-layer SEA
 * losses, AdamW with two LR groups and clipping, perplexity evaluation, checkpoints that resume to
 * the same next step. Batches are a function of (seed, step), so a resumed run sees the same data.
 */
import fs from 'node:fs/promises';
import { type OptConfig, OptForCausalLM, type OptOutput } from '@sea/opt';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { TrainError } from './errors.js';
import {
  causalLmLoss,
  distillationLoss,
  type LayerLoss,
  type ModelLoss,
  mse,
  seaLayerLoss,
} from './losses.js';
import { AdamW, isSeaParam } from './optim.js';
import { valueAndGradAuxAsync } from './tape.js';

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

/** Every tensor of a forward output (logits, hidden states, captured attention). */
function outputTensors(o: OptOutput): Tensor[] {
  const out = [o.logits, ...(o.hiddenStates ?? [])];
  if (o.logitMask) out.push(o.logitMask);
  for (const l of o.layers ?? []) {
    out.push(l.context);
    if (l.logits) out.push(l.logits);
    if (l.training) out.push(...Object.values(l.training));
  }
  return out;
}

/**
 * The model-level OPT loss of a student output against the teacher's (spec §9a–§9b). SEA layers give
 * L_approx + L_prob + L_context; Performer layers (no estimate, no dense scores) only L_context.
 */
export function optDistillationLoss(teacher: OptOutput, student: OptOutput, ids: Tensor): ModelLoss {
  const tl = teacher.layers ?? [];
  const mask = teacher.logitMask;
  if (!mask || !teacher.hiddenStates || !student.hiddenStates || !student.layers) {
    throw new TrainError('optDistillationLoss: run both models with outputHiddenStates and captureAttention');
  }
  const layers: LayerLoss[] = student.layers.map((a, i) => {
    const t = tl[i];
    if (a.training && t.logits) {
      return seaLayerLoss({
        teacherLogits: t.logits,
        approxLogits: a.training.estimateLogitsStretched,
        studentScores: a.training.studentScores,
        mask,
        teacherContext: t.context,
        context: a.context,
        causal: true,
      });
    }
    const context = mse(t.context, a.context);
    const zero = sea.mul(context, 0);
    return { approx: zero, prob: zero, context, total: context };
  });
  return distillationLoss('opt', {
    ce: causalLmLoss(student.logits, ids),
    teacherHidden: teacher.hiddenStates,
    studentHidden: student.hiddenStates,
    teacherLogits: teacher.logits,
    studentLogits: student.logits,
    layers,
  });
}

export class Distiller {
  readonly opts: DistillOptions;
  params: Record<string, Tensor>;
  readonly buffers: Record<string, Tensor>;
  readonly optimizer: AdamW;
  readonly train: Int32Array;
  readonly heldOut: Int32Array;

  private constructor(
    readonly teacher: OptForCausalLM,
    readonly student: OptForCausalLM,
    tokens: Int32Array,
    opts: DistillOptions,
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
    this.params = Object.fromEntries(student.parameters());
    this.buffers = Object.fromEntries(student.buffers());
    this.optimizer = new AdamW({
      lr: opts.lr,
      baseScale: opts.baseScale,
      seaScale: opts.seaScale,
      maxGradNorm: opts.maxGradNorm,
      isSea: isSeaParam,
    });
  }

  get cfg(): OptConfig {
    return this.teacher.config;
  }

  /**
   * The student: the teacher's tensors (shared until the first update), with `overrides` (a
   * checkpoint's) by name; SEA/Performer modules from `overrides`' `.sea.` tensors, else fresh from
   * seed + 1 (+ layer).
   */
  private static async student(
    teacher: OptForCausalLM,
    opts: DistillOptions,
    overrides: Record<string, Tensor> = {},
  ): Promise<OptForCausalLM> {
    const weights = teacher.parameters();
    for (const [n, t] of Object.entries(overrides)) {
      weights.get(n)?.dispose();
      weights.set(n, t);
    }
    return OptForCausalLM.fromWeights(teacher.config, weights, {
      backend: teacher.backend,
      attention: opts.attention,
      seaConfig: {
        predictorLength: opts.predictorLength,
        k: opts.k,
        nbFeatureFactor: opts.nbf,
        path: 'dense',
      },
      seed: opts.seed + 1,
    });
  }

  /** A student initialised from the teacher plus fresh SEA weights. The teacher stays the caller's. */
  static async create(
    teacher: OptForCausalLM,
    tokens: Int32Array,
    o: Partial<DistillOptions> = {},
  ): Promise<Distiller> {
    const opts = { ...DEFAULT_DISTILL, ...o };
    if (opts.seqLen > teacher.config.maxPositionEmbeddings) {
      throw new TrainError(
        `--seq-len ${opts.seqLen} exceeds the model's max_position_embeddings ${teacher.config.maxPositionEmbeddings}`,
      );
    }
    return new Distiller(teacher, await Distiller.student(teacher, opts), tokens, opts);
  }

  /** Rebuilds a run from `dir` (latest checkpoint); the next step equals the uninterrupted run's. */
  static async resume(dir: string, teacher: OptForCausalLM, tokens: Int32Array): Promise<Distiller> {
    const c = await loadCheckpoint(dir);
    const opts = { ...DEFAULT_DISTILL, ...(c.state.options as Partial<DistillOptions>) };
    const student = await Distiller.student(teacher, opts, { ...c.model, ...c.sea });
    const d = new Distiller(teacher, student, tokens, opts);
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
    return sea.tensor(ids, [B, T], { dtype: 'int32', backend: this.teacher.backend });
  }

  /** One optimizer step; returns the logged losses. */
  async trainStep(): Promise<StepLog> {
    const t0 = performance.now();
    const ids = this.batchIds(this.step);
    const capture = { outputHiddenStates: true, captureAttention: true };
    const teacher = await this.teacher.forward(ids, capture);
    let r: Awaited<ReturnType<typeof valueAndGradAuxAsync<Record<string, Tensor>, ModelLoss>>>;
    try {
      r = await valueAndGradAuxAsync(async () => {
        const f = await this.student.forward(ids, {
          ...capture,
          parameters: new Map(Object.entries(this.params)),
        });
        try {
          const loss = sea.tidy(() => optDistillationLoss(teacher, f, ids));
          return { loss: loss.total, aux: loss };
        } finally {
          for (const t of outputTensors(f)) t.dispose();
        }
      }, this.params);
    } finally {
      for (const t of outputTensors(teacher)) t.dispose();
    }
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
    for (const t of new Set([r.value, ...Object.values(a), gradNorm, ids])) t.dispose();
    for (const g of Object.values(r.grads)) g.dispose();
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
    const parameters = new Map(Object.entries(this.params));
    for (let w = 0; w < n; w++) {
      const ids = sea.tensor(src.subarray(w * T, (w + 1) * T), [1, T], {
        dtype: 'int32',
        backend: this.teacher.backend,
      });
      const student = await this.student.forward(ids, { parameters });
      const teacher = await this.teacher.forward(ids);
      const [l, lt] = sea.tidy(() => [causalLmLoss(student.logits, ids), causalLmLoss(teacher.logits, ids)]);
      s += await num(l);
      st += await num(lt);
      for (const t of [l, lt, ids, student.logits, teacher.logits]) t.dispose();
    }
    return { ppl: Math.exp(s / Math.max(n, 1)), teacherPpl: Math.exp(st / Math.max(n, 1)), windows: n };
  }

  /**
   * `model.safetensors` holds the non-SEA parameters by HF name; `sea.safetensors` the SEA
   * parameters and buffers as `model.decoder.layers.{i}.self_attn.sea.<name>` (OptForCausalLM's
   * `seaWeights` naming).
   */
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

  /** Frees the student and the trainer's tensors (not the teacher, which the caller owns). */
  dispose(): void {
    for (const t of Object.values(this.params)) t.dispose();
    for (const t of Object.values(this.buffers)) t.dispose();
    this.optimizer.dispose();
    this.student.dispose();
  }
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
