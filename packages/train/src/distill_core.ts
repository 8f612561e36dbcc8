/**
 * What the OPT and BERT distillers share (docs/algorithm.md §9): the student's weights from the teacher's, the
 * per-layer loss of captured teacher / student attention, one optimizer step (teacher forward with
 * captured attention, student forward under the tape with its current parameters by Hugging Face
 * name, AdamW with two LR groups and clipping), checkpoints and their restore. Batches are a function
 * of (seed, step), so a resumed run sees the same data and takes bit-identical steps.
 */
import { NonFiniteError, nonFiniteTensors } from '@sea/model-common';
import type { SeaTrainingOutputs } from '@sea/sparse-attention';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { type CheckpointContents, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { type LayerLoss, type ModelLoss, mse, seaLayerLoss } from './losses.js';
import { AdamW, isSeaParam } from './optim.js';
import { valueAndGradAuxAsync } from './tape.js';

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

/** Options every distiller has (the optimizer's and the SEA module's). */
export interface CoreDistillOptions {
  attention: 'sea' | 'performer';
  k: number;
  predictorLength: number;
  nbf: number;
  batch: number;
  /** Base lr; non-SEA weights train at baseScale·lr, SEA weights at seaScale·lr. */
  lr: number;
  baseScale: number;
  seaScale: number;
  maxGradNorm: number;
  seed: number;
}

/** One layer's captured attention (@sea/opt's OptLayerCapture, @sea/bert's BertLayerCapture). */
export interface CapturedLayer {
  context: Tensor;
  logits?: Tensor;
  training?: SeaTrainingOutputs;
}

/** What a forward returns with captureAttention and outputHiddenStates. */
export interface DistillForward {
  logits: Tensor;
  hiddenStates?: Tensor[];
  layers?: CapturedLayer[];
  logitMask?: Tensor;
}

/** What the loop needs from a model (OptForCausalLM, BertForSequenceClassification). */
export interface DistillModel {
  readonly backend: sea.Backend;
  readonly config: object;
  parameters(): Map<string, Tensor>;
  buffers(): Map<string, Tensor>;
  dispose(): void;
}

/** Every tensor of a forward output (logits, hidden states, captured attention, masks). */
export function outputTensors(o: DistillForward): Tensor[] {
  const out = [o.logits, ...(o.hiddenStates ?? [])];
  for (const extra of Object.values(o) as unknown[]) {
    if (extra instanceof sea.Tensor && !out.includes(extra)) out.push(extra);
  }
  for (const l of o.layers ?? []) {
    out.push(l.context);
    if (l.logits) out.push(l.logits);
    if (l.training) out.push(...Object.values(l.training));
  }
  return out;
}

/**
 * Per-layer losses of the student's captured attention against the teacher's (docs/algorithm.md §9a). SEA layers
 * give L_approx + L_prob + L_context; Performer layers (no estimate, no dense scores) only L_context.
 */
export function layerLosses(
  teacher: readonly CapturedLayer[],
  student: readonly CapturedLayer[],
  mask: Tensor,
  o: { causal: boolean; validRows?: Tensor },
): LayerLoss[] {
  return student.map((a, i) => {
    const t = teacher[i];
    if (a.training && t.logits) {
      return seaLayerLoss({
        teacherLogits: t.logits,
        approxLogits: a.training.estimateLogitsStretched,
        studentScores: a.training.studentScores,
        mask,
        teacherContext: t.context,
        context: a.context,
        causal: o.causal,
        validRows: o.validRows,
      });
    }
    const context = mse(t.context, a.context);
    const zero = sea.mul(context, 0);
    return { approx: zero, prob: zero, context, total: context };
  });
}

/**
 * The student's starting tensors: the teacher's (new handles, shared until the first update) with
 * `overrides` (a checkpoint's) by name. Tensors with `.sea.` names become SEA/Performer module weights
 * in the models' fromWeights.
 */
export function studentWeights(
  teacher: DistillModel,
  overrides: Record<string, Tensor> = {},
): Map<string, Tensor> {
  const weights = teacher.parameters();
  for (const [n, t] of Object.entries(overrides)) {
    weights.get(n)?.dispose();
    weights.set(n, t);
  }
  return weights;
}

/** A model class's `fromWeights` (OptForCausalLM, BertForSequenceClassification). */
export type FromWeights<M extends DistillModel> = (
  config: M['config'],
  weights: Map<string, Tensor>,
  opts: {
    backend: sea.Backend;
    attention: CoreDistillOptions['attention'];
    seaConfig: Record<string, unknown>;
    seed: number;
  },
) => Promise<M>;

/**
 * The student: the teacher's tensors with `overrides` (a checkpoint's) by name; SEA/Performer
 * modules from `overrides`' `.sea.` tensors, else fresh from seed + 1 (+ layer).
 */
export function buildStudent<M extends DistillModel>(
  fromWeights: FromWeights<M>,
  teacher: M,
  opts: CoreDistillOptions,
  overrides: Record<string, Tensor> = {},
): Promise<M> {
  return fromWeights(teacher.config, studentWeights(teacher, overrides), {
    backend: teacher.backend,
    attention: opts.attention,
    seaConfig: studentSeaConfig(opts),
    seed: opts.seed + 1,
  });
}

/** A run's checkpoint in `dir` (the latest), its options over `defaults`, and the student rebuilt from it. */
export async function resumeStudent<M extends DistillModel, Opts extends CoreDistillOptions>(
  dir: string,
  fromWeights: FromWeights<M>,
  teacher: M,
  defaults: Opts,
): Promise<{ checkpoint: CheckpointContents; opts: Opts; student: M }> {
  const checkpoint = await loadCheckpoint(dir);
  const opts = { ...defaults, ...(checkpoint.state.options as Partial<Opts>) };
  const student = await buildStudent(fromWeights, teacher, opts, { ...checkpoint.model, ...checkpoint.sea });
  return { checkpoint, opts, student };
}

/** The SeaAttentionConfig of a student (dense training path). */
export function studentSeaConfig(o: CoreDistillOptions): Record<string, unknown> {
  return { predictorLength: o.predictorLength, k: o.k, nbFeatureFactor: o.nbf, path: 'dense' };
}

async function num(t: Tensor): Promise<number> {
  return (await t.data())[0];
}

/**
 * The loop over a teacher / student pair of one model family. Subclasses say how a step's batch is
 * made, how a model runs on it (capturing attention and hidden states), and the model-level loss.
 */
export abstract class DistillerCore<
  M extends DistillModel,
  B,
  O extends DistillForward,
  Opts extends CoreDistillOptions,
> {
  params: Record<string, Tensor>;
  readonly buffers: Record<string, Tensor>;
  readonly optimizer: AdamW;

  protected constructor(
    readonly teacher: M,
    readonly student: M,
    readonly opts: Opts,
  ) {
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

  get step(): number {
    return this.optimizer.step;
  }

  /** A generator seeded from (seed, s) alone: the data of step s. */
  protected stepRng(s: number): sea.Rng {
    return new sea.Rng((Math.imul(this.opts.seed + 1, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca6b)) >>> 0);
  }

  /** The batch of step `s`. */
  protected abstract makeBatch(s: number): B;
  protected abstract batchTensors(b: B): Tensor[];
  /** Runs `model` on the batch with captureAttention and outputHiddenStates (and `parameters`, if given). */
  protected abstract run(model: M, b: B, parameters?: ReadonlyMap<string, Tensor>): Promise<O>;
  protected abstract loss(teacher: O, student: O, b: B): ModelLoss;

  /** One optimizer step; returns the logged losses. */
  async trainStep(): Promise<StepLog> {
    const t0 = performance.now();
    const batch = this.makeBatch(this.step);
    const teacher = await this.run(this.teacher, batch);
    let r: Awaited<ReturnType<typeof valueAndGradAuxAsync<Record<string, Tensor>, ModelLoss>>>;
    try {
      r = await valueAndGradAuxAsync(async () => {
        const f = await this.run(this.student, batch, new Map(Object.entries(this.params)));
        try {
          const loss = sea.tidy(() => this.loss(teacher, f, batch));
          return { loss: loss.total, aux: loss };
        } finally {
          for (const t of outputTensors(f)) t.dispose();
        }
      }, this.params);
    } finally {
      for (const t of outputTensors(teacher)) t.dispose();
    }
    await this.checkFinite(r.value, r.aux, r.grads, batch);
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
    for (const t of new Set([r.value, ...Object.values(a), gradNorm, ...this.batchTensors(batch)]))
      t.dispose();
    for (const g of Object.values(r.grads)) g.dispose();
    log.ms = performance.now() - t0;
    return log;
  }

  /**
   * The step's non-finite guard, before the optimizer touches anything: a loss that is NaN or
   * ±Infinity, or a gradient that is (one reduction over the squared gradients), is a
   * NonFiniteError naming the step, the loss terms and the parameters; the step's tensors are
   * disposed and the parameters stay as they were.
   */
  private async checkFinite(
    value: Tensor,
    aux: ModelLoss,
    grads: Record<string, Tensor>,
    batch: B,
  ): Promise<void> {
    const step = this.step + 1;
    const loss = await num(value);
    let problem: string | undefined;
    if (!Number.isFinite(loss)) {
      const terms: string[] = [];
      for (const [n, t] of Object.entries(aux)) {
        if (t instanceof sea.Tensor && t.size === 1 && !t.isDisposed) terms.push(`${n} ${await num(t)}`);
      }
      problem = `the loss is ${loss} (${terms.join(', ')})`;
    } else {
      const sq = sea.tidy(() => {
        let acc: Tensor | null = null;
        for (const g of Object.values(grads)) {
          const s = sea.sum(sea.square(sea.cast(g, 'float32')));
          acc = acc ? sea.add(acc, s) : s;
        }
        return acc ?? sea.scalar(0);
      });
      const total = await num(sq);
      sq.dispose();
      if (!Number.isFinite(total)) {
        const bad = await nonFiniteTensors(Object.entries(grads));
        if (bad.length)
          problem = `the gradients of ${bad.length} parameter(s) are not finite: ${bad.slice(0, 4).join('; ')}`;
      }
    }
    if (!problem) return;
    for (const t of new Set([value, ...Object.values(aux), ...this.batchTensors(batch)])) t.dispose();
    for (const g of Object.values(grads)) g.dispose();
    throw new NonFiniteError(
      `step ${step}: ${problem}; nothing was updated (check the teacher's weights and the learning rate)`,
    );
  }

  /** The student's tensors split as a model folder keeps them: non-SEA by HF name; SEA weights and buffers. */
  splitWeights(): { model: Record<string, Tensor>; sea: Record<string, Tensor> } {
    const model: Record<string, Tensor> = {};
    const seaW: Record<string, Tensor> = { ...this.buffers };
    for (const [n, t] of Object.entries(this.params)) (isSeaParam(n) ? seaW : model)[n] = t;
    return { model, sea: seaW };
  }

  /**
   * `model.safetensors` holds the non-SEA parameters by HF name; `sea.safetensors` the SEA
   * parameters and buffers in the model's `seaWeights` naming (`….sea.<name>`).
   */
  async save(dir: string): Promise<string> {
    const { model, sea: seaW } = this.splitWeights();
    const { tensors } = this.optimizer.stateTensors();
    return saveCheckpoint(dir, {
      step: this.step,
      model,
      sea: seaW,
      optimizer: tensors,
      state: { options: this.opts, config: this.teacher.config },
    });
  }

  /** Continues from a checkpoint's optimizer state (the student was built from its tensors). */
  protected restore(c: CheckpointContents): this {
    this.optimizer.loadState(c.optimizer, c.step);
    return this;
  }

  /** Frees the student and the trainer's tensors (not the teacher, which the caller owns). */
  dispose(): void {
    for (const t of Object.values(this.params)) t.dispose();
    for (const t of Object.values(this.buffers)) t.dispose();
    this.optimizer.dispose();
    this.student.dispose();
  }
}
