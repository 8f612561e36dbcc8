/**
 * The BERT distillation recipe (docs/algorithm.md §8–§9, glue_trainer.py): a frozen dense
 * BertForSequenceClassification teacher (@sea/bert), a student built from the teacher's tensors with
 * SEA (or Performer) attention in every layer (bidirectional SEA, scores scaled by 1/√D, right
 * padding through the key mask), trained on GLUE examples with
 * 0.1·CE(labels) + 10·mean_i MSE(h̃_i, h_i) + 0.1·KL(logits, batchmean over B) + mean_layers L_layer,
 * base lr 1e-5 for the original weights and 1e-4 for SEA's. Evaluation: accuracy and F1 of the
 * student and the teacher on held-out examples. The loop, checkpoints and resume are DistillerCore's.
 */
import { type BertConfig, BertForSequenceClassification, type BertOutput } from '@sea/bert';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { loadCheckpoint } from './checkpoint.js';
import {
  type CoreDistillOptions,
  DistillerCore,
  layerLosses,
  mixedPrecisionModel,
  studentSeaConfig,
  studentWeights,
} from './distill_core.js';
import { TrainError } from './errors.js';
import { crossEntropy, distillationLoss, type ModelLoss } from './losses.js';
import { checkpoint } from './tape.js';

/** One tokenized GLUE example: [CLS] a [SEP] (b [SEP]) ids, segment ids, and the gold label. */
export interface GlueFeatures {
  ids: ArrayLike<number>;
  typeIds: ArrayLike<number>;
  label: number;
}

export interface BertDistillOptions extends CoreDistillOptions {
  /** At most this many held-out examples per evaluation. */
  evalExamples: number;
  /** Truncation length the examples were tokenized with (recorded in checkpoints and exports). */
  maxLength: number;
}

/** docs/algorithm.md §10 BERT row: K=128, k=7, nbf=1; lr 1e-5 (original weights) / 1e-4 (SEA weights). */
export const DEFAULT_BERT_DISTILL: BertDistillOptions = {
  attention: 'sea',
  k: 7,
  predictorLength: 128,
  nbf: 1,
  batch: 16,
  lr: 1e-5,
  baseScale: 1,
  seaScale: 10,
  maxGradNorm: 1,
  seed: 0,
  evalExamples: 256,
  maxLength: 128,
};

interface BertBatch {
  ids: Int32Array;
  types: Int32Array;
  mask: Int32Array;
  shape: [number, number];
  labels: Tensor;
}

/** The GLUE/BERT model-level loss of a student output against the teacher's (docs/algorithm.md §9a–§9b). */
export function bertDistillationLoss(teacher: BertOutput, student: BertOutput, labels: Tensor): ModelLoss {
  const { logitMask: mask, validRows } = teacher;
  if (!mask || !validRows || !teacher.hiddenStates || !student.hiddenStates || !student.layers) {
    throw new TrainError(
      'bertDistillationLoss: run both models with outputHiddenStates and captureAttention',
    );
  }
  return distillationLoss('bert', {
    ce: crossEntropy(student.logits, labels),
    teacherHidden: teacher.hiddenStates,
    studentHidden: student.hiddenStates,
    teacherLogits: teacher.logits,
    studentLogits: student.logits,
    layers: layerLosses(teacher.layers ?? [], student.layers, mask, { causal: false, validRows }),
  });
}

/** Accuracy and F1 (1 the positive class, as GLUE's MRPC metric) of predictions against labels. */
function scores(pred: readonly number[], gold: readonly number[]): { accuracy: number; f1: number } {
  let ok = 0;
  let tp = 0;
  let predPos = 0;
  let goldPos = 0;
  pred.forEach((p, i) => {
    ok += p === gold[i] ? 1 : 0;
    tp += p === 1 && gold[i] === 1 ? 1 : 0;
    predPos += p === 1 ? 1 : 0;
    goldPos += gold[i] === 1 ? 1 : 0;
  });
  return {
    accuracy: ok / Math.max(gold.length, 1),
    f1: predPos + goldPos ? (2 * tp) / (predPos + goldPos) : 0,
  };
}

export interface GlueEval {
  examples: number;
  accuracy: number;
  f1: number;
  teacherAccuracy: number;
  teacherF1: number;
}

export class BertDistiller extends DistillerCore<
  BertForSequenceClassification,
  BertBatch,
  BertOutput,
  BertDistillOptions
> {
  /** Epoch e's order of the training examples (cached for the current epoch). */
  #order: { epoch: number; perm: Uint32Array } | null = null;

  private constructor(
    teacher: BertForSequenceClassification,
    student: { model: BertForSequenceClassification; masters?: Map<string, Tensor> },
    readonly train: readonly GlueFeatures[],
    readonly heldOut: readonly GlueFeatures[],
    opts: BertDistillOptions,
  ) {
    super(teacher, student.model, opts, student.masters);
  }

  get cfg(): BertConfig {
    return this.teacher.config;
  }

  private static check(teacher: BertForSequenceClassification, train: readonly GlueFeatures[]): void {
    const c = teacher.config;
    if (train.length === 0) throw new TrainError('no training examples');
    for (const [i, e] of train.entries()) {
      if (e.ids.length > c.maxPositionEmbeddings || e.ids.length !== e.typeIds.length) {
        throw new TrainError(
          `example ${i} has ${e.ids.length} tokens (${e.typeIds.length} segment ids); the model takes at most ${c.maxPositionEmbeddings}`,
        );
      }
      if (!Number.isInteger(e.label) || e.label < 0 || e.label >= c.numLabels) {
        throw new TrainError(`example ${i} has label ${e.label}; the model has ${c.numLabels} labels`);
      }
    }
  }

  /** The student: the teacher's tensors with `overrides` by name, SEA modules fresh from seed + 1 otherwise. */
  private static student(
    teacher: BertForSequenceClassification,
    opts: BertDistillOptions,
    overrides: Record<string, Tensor> = {},
  ): Promise<{ model: BertForSequenceClassification; masters?: Map<string, Tensor> }> {
    return mixedPrecisionModel(studentWeights(teacher, overrides), opts.computeDtype, (w, dtype) =>
      BertForSequenceClassification.fromWeights(teacher.config, w, {
        backend: teacher.backend,
        attention: opts.attention,
        seaConfig: studentSeaConfig(opts),
        seed: opts.seed + 1,
        ...(dtype ? { dtype } : {}),
      }),
    );
  }

  /** A student initialised from the teacher plus fresh SEA weights. The teacher stays the caller's. */
  static async create(
    teacher: BertForSequenceClassification,
    train: readonly GlueFeatures[],
    heldOut: readonly GlueFeatures[],
    o: Partial<BertDistillOptions> = {},
  ): Promise<BertDistiller> {
    const opts = { ...DEFAULT_BERT_DISTILL, ...o };
    BertDistiller.check(teacher, [...train, ...heldOut]);
    return new BertDistiller(teacher, await BertDistiller.student(teacher, opts), train, heldOut, opts);
  }

  /** Rebuilds a run from `dir` (latest checkpoint); the next step equals the uninterrupted run's. */
  static async resume(
    dir: string,
    teacher: BertForSequenceClassification,
    train: readonly GlueFeatures[],
    heldOut: readonly GlueFeatures[],
  ): Promise<BertDistiller> {
    const c = await loadCheckpoint(dir);
    const opts = { ...DEFAULT_BERT_DISTILL, ...(c.state.options as Partial<BertDistillOptions>) };
    BertDistiller.check(teacher, [...train, ...heldOut]);
    const student = await BertDistiller.student(teacher, opts, { ...c.model, ...c.sea });
    return new BertDistiller(teacher, student, train, heldOut, opts).restore(c);
  }

  /** Index of the p-th example of the training stream: epoch after epoch, each a permutation drawn from (seed, epoch). */
  private exampleAt(p: number): number {
    const n = this.train.length;
    const epoch = Math.floor(p / n);
    if (this.#order?.epoch !== epoch) {
      const rng = this.stepRng(-1 - epoch);
      const perm = Uint32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      this.#order = { epoch, perm };
    }
    return this.#order.perm[p % n];
  }

  /** `examples` right-padded to the longest (pad id from the config), with their labels. */
  private pad(examples: readonly GlueFeatures[]): BertBatch {
    const B = examples.length;
    const T = Math.max(...examples.map((e) => e.ids.length));
    const ids = new Int32Array(B * T).fill(this.cfg.padTokenId);
    const types = new Int32Array(B * T);
    const mask = new Int32Array(B * T);
    examples.forEach((e, b) => {
      ids.set(Array.from(e.ids), b * T);
      types.set(Array.from(e.typeIds), b * T);
      mask.fill(1, b * T, b * T + e.ids.length);
    });
    const labels = sea.tensor(
      Int32Array.from(examples, (e) => e.label),
      [B],
      { dtype: 'int32', backend: this.teacher.backend },
    );
    return { ids, types, mask, shape: [B, T], labels };
  }

  /**
   * Micro-batch `micro` of step `s`: step s takes the next batch·accumulate examples of the
   * (seed-shuffled) epoch stream, micro-batch j the j-th `batch` of them (each padded to its longest).
   */
  batchAt(s: number, micro = 0): BertBatch {
    const B = this.opts.batch;
    const n = this.opts.accumulate ?? 1;
    const first = (s * n + micro) * B;
    return this.pad(Array.from({ length: B }, (_, b) => this.train[this.exampleAt(first + b)]));
  }

  protected makeBatch(s: number, micro: number): BertBatch {
    return this.batchAt(s, micro);
  }

  protected batchTensors(b: BertBatch): Tensor[] {
    return [b.labels];
  }

  protected run(
    model: BertForSequenceClassification,
    b: BertBatch,
    parameters?: ReadonlyMap<string, Tensor>,
  ): Promise<BertOutput> {
    return model.forward(b.ids, {
      shape: b.shape,
      attentionMask: b.mask,
      tokenTypeIds: b.types,
      outputHiddenStates: true,
      captureAttention: true,
      parameters,
      ...(parameters && this.opts.checkpointLayers ? { checkpoint } : {}),
    });
  }

  protected loss(teacher: BertOutput | null, student: BertOutput, b: BertBatch): ModelLoss {
    if (!teacher) throw new TrainError('distillation needs the teacher outputs');
    return bertDistillationLoss(teacher, student, b.labels);
  }

  /**
   * Accuracy and F1 of the student (its SEA layers on the dense training path, as docs/algorithm.md's eval)
   * and of the teacher on the first `evalExamples` held-out examples (the training ones when none).
   */
  async evalGlue(): Promise<GlueEval> {
    const src = (this.heldOut.length ? this.heldOut : this.train).slice(0, this.opts.evalExamples);
    return this.withEvalParameters((parameters) => this.glueScores(src, parameters));
  }

  private async glueScores(
    src: readonly GlueFeatures[],
    parameters: ReadonlyMap<string, Tensor>,
  ): Promise<GlueEval> {
    const pred: number[] = [];
    const teacherPred: number[] = [];
    const argmax = async (t: Tensor, out: number[]) => {
      const v = (await t.data()) as Float32Array;
      const L = t.shape[1];
      for (let i = 0; i < t.shape[0]; i++) {
        let best = 0;
        for (let j = 1; j < L; j++) if (v[i * L + j] > v[i * L + best]) best = j;
        out.push(best);
      }
    };
    for (let i = 0; i < src.length; i += this.opts.batch) {
      const b = this.pad(src.slice(i, i + this.opts.batch));
      const inputs = { shape: b.shape, attentionMask: b.mask, tokenTypeIds: b.types };
      const s = await this.student.forward(b.ids, { ...inputs, parameters });
      const t = await this.teacher.forward(b.ids, inputs);
      await argmax(s.logits, pred);
      await argmax(t.logits, teacherPred);
      for (const x of [s.logits, s.pooled, t.logits, t.pooled, b.labels]) x.dispose();
    }
    const gold = src.map((e) => e.label);
    const st = scores(pred, gold);
    const te = scores(teacherPred, gold);
    return { examples: src.length, ...st, teacherAccuracy: te.accuracy, teacherF1: te.f1 };
  }
}
