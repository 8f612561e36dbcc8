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
import { type CheckpointContents, saveCheckpoint } from './checkpoint.js';
import { TrainError } from './errors.js';
import type { DynamicLossScaler } from './loss_scale.js';
import { FP_MIN, type LayerLoss, type ModelLoss, mse, seaLayerLoss } from './losses.js';
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
  /** The student's attention in every layer ('dense': a dense fine-tune with the same losses). */
  attention: StudentAttention;
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
  /**
   * Micro-batches per optimizer step: the step's `batch·accumulate` examples are drawn at once and
   * run `batch` at a time, each loss scaled by 1/accumulate, the gradients summed (default 1).
   */
  accumulate?: number;
  /** Recompute every student layer in backward instead of keeping its activations (default off). */
  checkpointLayers?: boolean;
  /** SEA: top-k grouping (spec §5); default the module's (causal_batch). */
  topkMode?: string;
  /** SEA: k_oversample (spec §6, default 1). */
  kOversample?: number;
  /** SEA: partial_attention_scaler (spec §7, default true). */
  partialAttentionScaler?: boolean;
  /** Reformer: hash rounds (default 8; the bucket size is k). */
  nHashes?: number;
  /**
   * Mixed precision: the dtype the student's forward and backward compute in (default float32). The
   * trained parameters and AdamW's moments stay float32 (master weights); each micro-batch casts them
   * to this dtype under the tape (their gradients come back in float32), and the losses are taken in
   * float32. float16 wants a `lossScaler` (DynamicLossScaler).
   */
  computeDtype?: ComputeDtype;
}

/** Compute dtypes of mixed-precision training. */
export type ComputeDtype = 'float32' | 'bfloat16' | 'float16';

/**
 * A student over float32 master weights: `build` makes the model from `weights` (float32, by name),
 * cast to `dtype` first when it is a 16-bit one. The masters are `weights`' tensors for the model's
 * parameters, and the model's own parameters (fresh SEA modules) cast up; the other tensors of
 * `weights` are freed. Without a 16-bit dtype the model is built from `weights` as they are.
 */
export async function mixedPrecisionModel<M extends DistillModel>(
  weights: Map<string, Tensor>,
  dtype: ComputeDtype | undefined,
  build: (weights: Map<string, Tensor>, dtype?: ComputeDtype) => Promise<M>,
): Promise<{ model: M; masters?: Map<string, Tensor> }> {
  if (!dtype || dtype === 'float32') return { model: await build(weights) };
  const cast = new Map([...weights].map(([n, t]) => [n, sea.tidy(() => sea.cast(t, dtype)).keep()]));
  let model: M;
  try {
    model = await build(cast, dtype);
  } catch (e) {
    for (const t of weights.values()) t.dispose();
    throw e;
  }
  const masters = new Map<string, Tensor>();
  for (const [n, p] of model.parameters()) {
    const w = weights.get(n);
    masters.set(n, w ?? sea.tidy(() => sea.cast(p, 'float32')).keep());
    p.dispose();
  }
  for (const [n, t] of weights) if (!masters.has(n)) t.dispose();
  return { model, masters };
}

/** Attention kinds a student can have. */
export type StudentAttention = 'sea' | 'performer' | 'dense' | 'reformer' | 'cosformer';

/**
 * Sums gradients across the ranks of a data-parallel run (the identity for one process). `allReduce`
 * replaces each tensor by the element-wise sum over ranks, in place of its handle.
 */
export interface GradientReducer {
  readonly rank: number;
  readonly size: number;
  allReduce(grads: Record<string, Tensor>, names: readonly string[]): Promise<Record<string, Tensor>>;
  /** Sums plain numbers (the logged losses) over ranks. */
  allReduceNumbers(xs: number[]): Promise<number[]>;
  /**
   * Overlap with the backward pass (optional): a session for one step's gradients. `ready(name, g)`
   * hands over each parameter's summed gradient as soon as it is final (the session owns `g`; the
   * order is the same on every rank), so its bucket's all-reduce can start while backward goes on;
   * `finish()` waits for every bucket and returns the reduced gradients. Without it, the trainer
   * calls `allReduce` after backward.
   */
  begin?(): ReduceSession;
}

/** One step's overlapped gradient all-reduce ({@link GradientReducer.begin}). */
export interface ReduceSession {
  ready(name: string, grad: Tensor): Promise<void>;
  finish(): Promise<Record<string, Tensor>>;
  /** Frees what the session holds (after an error). */
  abort(): void;
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

/** The SeaAttentionConfig of a student (dense training path). */
export function studentSeaConfig(o: CoreDistillOptions): Record<string, unknown> {
  const c: Record<string, unknown> = {
    predictorLength: o.predictorLength,
    k: o.k,
    nbFeatureFactor: o.nbf,
    path: 'dense',
  };
  if (o.topkMode !== undefined) c.topkMode = o.topkMode;
  if (o.kOversample !== undefined) c.kOversample = o.kOversample;
  if (o.partialAttentionScaler !== undefined) c.partialAttentionScaler = o.partialAttentionScaler;
  if (o.nHashes !== undefined) c.nHashes = o.nHashes;
  return c;
}

/**
 * A forward output with its 16-bit tensors cast to float32 (under the tape: the casts carry the
 * gradients back), so the losses of a mixed-precision student are taken in float32. Captured
 * attention is clamped at FP_MIN: 16 bits round the masking value to −2¹²⁷, which added to the
 * teacher's float32 mask would overflow to −Infinity (and 0·∞ in the KL terms), where FP_MIN + FP_MIN
 * is the most negative float32.
 */
export function float32Outputs<O extends DistillForward>(o: O): O {
  const half = (t: Tensor) => t.dtype === 'bfloat16' || t.dtype === 'float16';
  const up = (t: Tensor): Tensor => (half(t) ? sea.cast(t, 'float32') : t);
  const upMasked = (t: Tensor): Tensor => (half(t) ? sea.maximum(sea.cast(t, 'float32'), FP_MIN) : t);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v instanceof sea.Tensor) out[k] = up(v);
    else if (k === 'hiddenStates' && Array.isArray(v)) out[k] = v.map(up);
    else if (k === 'layers' && Array.isArray(v)) {
      out[k] = (v as CapturedLayer[]).map((l) => {
        const c: CapturedLayer = { context: up(l.context) };
        if (l.logits) c.logits = upMasked(l.logits);
        if (l.training) {
          c.training = Object.fromEntries(
            Object.entries(l.training).map(([n, t]) => [n, upMasked(t as Tensor)]),
          ) as unknown as SeaTrainingOutputs;
        }
        return c;
      });
    } else out[k] = v;
  }
  return out as O;
}

/** A generator seeded from (seed, s) alone: the data of step s. */
export function stepRng(seed: number, s: number): sea.Rng {
  return new sea.Rng((Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(s + 1, 0x85ebca6b)) >>> 0);
}

/** The logged loss terms after the total, in the order of {@link DistillerCore.stepGradients}'s logs. */
const LOSS_TERMS = ['ce', 'hidden', 'logitsKl', 'layer', 'approx', 'prob', 'context'] as const;

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

  /** `masters`: float32 master weights of a 16-bit student ({@link mixedPrecisionModel}), owned from here on. */
  protected constructor(
    readonly teacher: M,
    readonly student: M,
    readonly opts: Opts,
    masters?: Map<string, Tensor>,
  ) {
    this.params = Object.fromEntries(student.parameters());
    if (masters) {
      for (const t of Object.values(this.params)) t.dispose();
      this.params = Object.fromEntries(masters);
    }
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
    return stepRng(this.opts.seed, s);
  }

  /** Micro-batch `micro` (0 ≤ micro < accumulate) of step `s`. */
  protected abstract makeBatch(s: number, micro: number): B;
  protected abstract batchTensors(b: B): Tensor[];
  /** Runs `model` on the batch with captureAttention and outputHiddenStates (and `parameters`, if given). */
  protected abstract run(model: M, b: B, parameters?: ReadonlyMap<string, Tensor>): Promise<O>;
  protected abstract loss(teacher: O | null, student: O, b: B): ModelLoss;

  /**
   * The parameters the student runs with in a training step: the masters, cast to the compute dtype
   * under the tape when it is a 16-bit one (those casts are freed after the micro-batch's backward: a
   * checkpointed layer reads them again).
   */
  protected computeParameters(): Map<string, Tensor> {
    const params = new Map(Object.entries(this.params));
    const dt = this.opts.computeDtype;
    if (!dt || dt === 'float32') return params;
    const cast = new Map([...params].map(([n, t]) => [n, sea.cast(t, dt)] as const));
    this.untilBackward.push(...cast.values());
    return cast;
  }

  /** Runs `f` with the parameters in the compute dtype (an evaluation, no tape), freed afterwards. */
  protected async withEvalParameters<R>(f: (p: Map<string, Tensor>) => Promise<R>): Promise<R> {
    const params = new Map(Object.entries(this.params));
    const dt = this.opts.computeDtype;
    if (!dt || dt === 'float32') return f(params);
    const cast = new Map([...params].map(([n, t]) => [n, sea.tidy(() => sea.cast(t, dt)).keep()] as const));
    try {
      return await f(cast);
    } finally {
      for (const t of cast.values()) t.dispose();
    }
  }

  /** Micro-batches per optimizer step (accumulate). */
  get microBatches(): number {
    return this.opts.accumulate ?? 1;
  }

  /** The micro-batches of the global step this process runs: all of them, or a rank's share. */
  protected localMicroBatches(): number[] {
    const n = this.microBatches;
    const r = this.reducer;
    if (!r || r.size === 1) return Array.from({ length: n }, (_, j) => j);
    if (n % r.size !== 0) {
      throw new TrainError(
        `accumulate ${n} (micro-batches per step) is not a multiple of ${r.size} ranks: the global batch must split evenly`,
      );
    }
    const per = n / r.size;
    return Array.from({ length: per }, (_, j) => r.rank * per + j);
  }

  /** Set by a data-parallel run: sums the gradients (and logged losses) over ranks before the update. */
  reducer: GradientReducer | null = null;

  /**
   * With a reducer that can (GradientReducer.begin): all-reduce gradient buckets while the last
   * micro-batch's backward is still running, instead of after it (default on).
   */
  overlapReduce = true;

  /**
   * Tensors a forward made that its backward still reads (a checkpointed layer reads, when it runs
   * again, what the forward passed to it by closure: e.g. parameters cast to the compute dtype);
   * freed once the micro-batch's gradients are taken.
   */
  protected readonly untilBackward: Tensor[] = [];

  /** Dynamic loss scaling (float16 compute); null: none. Skipped steps re-run the same batch. */
  lossScaler: DynamicLossScaler | null = null;

  /** The teacher's outputs on a batch (null for plain language-model training). */
  protected teacherForward(b: B): Promise<O | null> {
    return this.run(this.teacher, b);
  }

  /** Forward and backward of one micro-batch, the loss scaled by `scale`; gradients by parameter name. */
  protected async microStep(
    batch: B,
    scale: number,
    onGrad?: (name: string, grad: Tensor) => void | Promise<void>,
  ): Promise<{ grads: Record<string, Tensor>; logs: number[] }> {
    const teacher = await this.teacherForward(batch);
    let r: Awaited<ReturnType<typeof valueAndGradAuxAsync<Record<string, Tensor>, ModelLoss>>>;
    const dy = scale === 1 ? undefined : sea.scalar(scale, { backend: this.student.backend });
    try {
      r = await valueAndGradAuxAsync(
        async () => {
          const f = await this.run(this.student, batch, this.computeParameters());
          try {
            const loss = sea.tidy(() => this.loss(teacher, float32Outputs(f), batch));
            return { loss: loss.total, aux: loss };
          } finally {
            for (const t of outputTensors(f)) t.dispose();
          }
        },
        this.params,
        { ...(dy ? { dy } : {}), ...(onGrad ? { onGrad } : {}) },
      );
    } finally {
      if (teacher) for (const t of outputTensors(teacher)) t.dispose();
      dy?.dispose();
      for (const t of this.untilBackward.splice(0)) t.dispose();
    }
    const a = r.aux;
    // the eight logged scalars in one read (one wait for the device instead of eight)
    const terms = [r.value, a.ce, a.hidden, a.logitsKl, a.layer, a.approx, a.prob, a.context];
    const packed = sea.tidy(() =>
      sea.concat(
        terms.map((t) => (t.dtype === 'float32' ? t : sea.cast(t, 'float32')).reshape([1])),
        0,
      ),
    );
    const logs = Array.from(await packed.data());
    packed.dispose();
    for (const t of new Set([r.value, ...Object.values(a), ...this.batchTensors(batch)])) t.dispose();
    return { grads: r.grads, logs };
  }

  /**
   * One optimizer step over `accumulate` micro-batches (this rank's share of them in a data-parallel
   * run); returns the logged losses (means over the global batch).
   */
  async trainStep(): Promise<StepLog> {
    const t0 = performance.now();
    const step = await this.stepGradients();
    const logs = step.logs;
    let grads = step.grads;
    try {
      let scaledSq: number | null = null;
      if (this.lossScaler) {
        const S = this.lossScaler.scale;
        const names = Object.keys(grads).sort();
        const unscaled: Record<string, Tensor> = {};
        for (const n of names) {
          unscaled[n] = sea.tidy(() => sea.mul(grads[n], 1 / S)).keep();
          grads[n].dispose();
        }
        grads = unscaled;
        const sq = AdamW.sumOfSquares(grads, names);
        scaledSq = await num(sq);
        sq.dispose();
        const finite = Number.isFinite(scaledSq);
        if (!this.lossScaler.update(finite)) {
          // skipped: no update; the same step (and batch) runs next
          return {
            step: this.step,
            loss: logs[0],
            ce: logs[1],
            hidden: logs[2],
            logitsKl: logs[3],
            layer: logs[4],
            approx: logs[5],
            prob: logs[6],
            context: logs[7],
            gradNorm: Number.POSITIVE_INFINITY,
            ms: performance.now() - t0,
          };
        }
      }
      // one read for the non-finite check and the clipping: Σ‖g‖² over every gradient
      const normSq = scaledSq ?? (await this.checkFinite(logs, grads));
      const gn = Math.sqrt(normSq);
      const { params, gradNorm } = this.optimizer.apply(this.params, grads, this.lrScale(this.step), gn);
      this.params = params;
      const log: StepLog = {
        step: this.step,
        loss: logs[0],
        ce: logs[1],
        hidden: logs[2],
        logitsKl: logs[3],
        layer: logs[4],
        approx: logs[5],
        prob: logs[6],
        context: logs[7],
        gradNorm: gn,
        ms: 0,
      };
      gradNorm.dispose();
      log.ms = performance.now() - t0;
      return log;
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  /**
   * The gradients of the next step (summed over its micro-batches and, with a reducer, over ranks)
   * and its logged losses [loss, ce, hidden, logitsKl, layer, approx, prob, context] (means over the
   * global batch), without updating anything. The caller disposes the gradients.
   */
  async stepGradients(): Promise<{ grads: Record<string, Tensor>; logs: number[] }> {
    const n = this.microBatches;
    const names = Object.keys(this.params).sort();
    let acc: Record<string, Tensor> | null = null;
    const sums = new Array<number>(8).fill(0);
    const local = this.localMicroBatches();
    // with an overlapping reducer the last micro-batch hands each summed gradient over as soon as
    // backward has finished it; the sums are the same additions in the same order as below
    const session = this.reducer?.begin && this.overlapReduce ? this.reducer.begin() : null;
    try {
      for (const j of local) {
        const S = this.lossScaler?.scale ?? 1;
        const last = j === local[local.length - 1];
        const prev: Record<string, Tensor> | null = acc;
        const onGrad =
          session && last
            ? (k: string, g: Tensor) => {
                if (!prev) return session.ready(k, g);
                const total = sea.add(prev[k], g).keep();
                g.dispose();
                return session.ready(k, total);
              }
            : undefined;
        const { grads, logs } = await this.microStep(this.makeBatch(this.step, j), S / n, onGrad);
        logs.forEach((x, i) => {
          sums[i] += x / n;
        });
        if (onGrad) {
          for (const k of names) grads[k].dispose();
          if (prev) for (const k of names) prev[k].dispose();
          acc = null;
        } else if (!prev) acc = grads;
        else {
          // a fixed order: micro-batch 0 + 1, then + 2, …
          const next: Record<string, Tensor> = {};
          for (const k of names) {
            next[k] = sea.add(prev[k], grads[k]).keep();
            prev[k].dispose();
            grads[k].dispose();
          }
          acc = next;
        }
      }
      if (session && this.reducer) {
        const reduced = await session.finish();
        return { grads: reduced, logs: await this.reducer.allReduceNumbers(sums) };
      }
      if (!acc) throw new TrainError('no micro-batches to run');
      if (this.reducer) {
        const reduced: Record<string, Tensor> = await this.reducer.allReduce(acc, names);
        acc = reduced;
        return { grads: reduced, logs: await this.reducer.allReduceNumbers(sums) };
      }
      return { grads: acc, logs: sums };
    } catch (e) {
      session?.abort();
      if (acc) for (const g of Object.values(acc)) g.dispose();
      throw e;
    }
  }

  /** Multiplier of the learning rate at step `s` (0-based; constant 1 unless a subclass schedules it). */
  protected lrScale(_s: number): number {
    return 1;
  }

  /**
   * The step's non-finite guard, before the optimizer touches anything: a loss that is NaN or
   * ±Infinity, or a gradient that is (one reduction over the squared gradients, read once), is a
   * NonFiniteError naming the step, the loss terms and the parameters; the step's tensors are
   * disposed and the parameters stay as they were. Returns Σ‖g‖² (the clipping norm's square).
   */
  private async checkFinite(logs: readonly number[], grads: Record<string, Tensor>): Promise<number> {
    const step = this.step + 1;
    const loss = logs[0];
    let problem: string | undefined;
    const sq = AdamW.sumOfSquares(grads);
    const total = await num(sq);
    sq.dispose();
    if (!Number.isFinite(loss)) {
      const terms = LOSS_TERMS.map((n, i) => `${n} ${logs[i + 1]}`).join(', ');
      problem = `the loss is ${loss} (${terms})`;
    } else if (!Number.isFinite(total)) {
      const bad = await nonFiniteTensors(Object.entries(grads));
      if (bad.length)
        problem = `the gradients of ${bad.length} parameter(s) are not finite: ${bad.slice(0, 4).join('; ')}`;
    }
    if (!problem) return total;
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
