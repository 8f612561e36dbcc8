/**
 * The distillation loop (docs/algorithm.md §9) for OPT: a frozen dense OPT teacher (@sea/opt's OptForCausalLM), a
 * student OptForCausalLM with the teacher's weights and SEA (or Performer) attention in every layer
 * (SEA on its dense training path, @sea/sparse-attention), the model-level OPT loss with the
 * per-layer SEA losses, perplexity evaluation. The step, the optimizer, checkpoints and resume are
 * DistillerCore's (distill_core.ts), shared with the BERT distiller (distill_bert.ts).
 */
import fs from 'node:fs/promises';
import { type OptConfig, OptForCausalLM, type OptOutput } from '@sea/opt';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import {
  buildStudent,
  type CoreDistillOptions,
  DistillerCore,
  type FromWeights,
  layerLosses,
  resumeStudent,
} from './distill_core.js';
import { TrainError } from './errors.js';
import { causalLmLoss, distillationLoss, type ModelLoss } from './losses.js';

/** OPT: base lr 1e-5 with non-SEA weights at 0.2·lr and SEA weights at 10·lr (docs/algorithm.md §9c). */
export interface DistillOptions extends CoreDistillOptions {
  seqLen: number;
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

/**
 * The model-level OPT loss of a student output against the teacher's (docs/algorithm.md §9a–§9b). SEA layers give
 * L_approx + L_prob + L_context; Performer layers (no estimate, no dense scores) only L_context.
 */
export function optDistillationLoss(teacher: OptOutput, student: OptOutput, ids: Tensor): ModelLoss {
  const tl = teacher.layers ?? [];
  const mask = teacher.logitMask;
  if (!mask || !teacher.hiddenStates || !student.hiddenStates || !student.layers) {
    throw new TrainError('optDistillationLoss: run both models with outputHiddenStates and captureAttention');
  }
  const layers = layerLosses(tl, student.layers, mask, { causal: true });
  return distillationLoss('opt', {
    ce: causalLmLoss(student.logits, ids),
    teacherHidden: teacher.hiddenStates,
    studentHidden: student.hiddenStates,
    teacherLogits: teacher.logits,
    studentLogits: student.logits,
    layers,
  });
}

const fromWeights: FromWeights<OptForCausalLM> = (c, w, o) => OptForCausalLM.fromWeights(c, w, o);

export class Distiller extends DistillerCore<OptForCausalLM, Tensor, OptOutput, DistillOptions> {
  readonly train: Int32Array;
  readonly heldOut: Int32Array;

  private constructor(
    teacher: OptForCausalLM,
    student: OptForCausalLM,
    tokens: Int32Array,
    opts: DistillOptions,
  ) {
    super(teacher, student, opts);
    const split = Math.max(opts.seqLen + 1, Math.floor(tokens.length * (1 - opts.evalFraction)));
    this.train = tokens.subarray(0, split);
    this.heldOut = tokens.subarray(split);
    if (this.train.length < opts.seqLen) {
      throw new TrainError(
        `data has ${tokens.length} tokens; need at least ${opts.seqLen} for --seq-len ${opts.seqLen}`,
      );
    }
  }

  get cfg(): OptConfig {
    return this.teacher.config;
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
    return new Distiller(teacher, await buildStudent(fromWeights, teacher, opts), tokens, opts);
  }

  /** Rebuilds a run from `dir` (latest checkpoint); the next step equals the uninterrupted run's. */
  static async resume(dir: string, teacher: OptForCausalLM, tokens: Int32Array): Promise<Distiller> {
    const r = await resumeStudent(dir, fromWeights, teacher, DEFAULT_DISTILL);
    return new Distiller(teacher, r.student, tokens, r.opts).restore(r.checkpoint);
  }

  /** The batch of step `s`: `batch` random windows of seqLen tokens, drawn from (seed, s) alone. */
  batchIds(s: number): Tensor {
    const { seqLen: T, batch: B } = this.opts;
    const rng = this.stepRng(s);
    const starts = this.train.length - T + 1;
    const ids = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const s0 = rng.int(starts);
      ids.set(this.train.subarray(s0, s0 + T), b * T);
    }
    return sea.tensor(ids, [B, T], { dtype: 'int32', backend: this.teacher.backend });
  }

  protected makeBatch(s: number): Tensor {
    return this.batchIds(s);
  }

  protected batchTensors(ids: Tensor): Tensor[] {
    return [ids];
  }

  protected run(
    model: OptForCausalLM,
    ids: Tensor,
    parameters?: ReadonlyMap<string, Tensor>,
  ): Promise<OptOutput> {
    return model.forward(ids, { outputHiddenStates: true, captureAttention: true, parameters });
  }

  protected loss(teacher: OptOutput, student: OptOutput, ids: Tensor): ModelLoss {
    return optDistillationLoss(teacher, student, ids);
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
      s += (await l.data())[0];
      st += (await lt.data())[0];
      for (const t of [l, lt, ids, student.logits, teacher.logits]) t.dispose();
    }
    return { ppl: Math.exp(s / Math.max(n, 1)), teacherPpl: Math.exp(st / Math.max(n, 1)), windows: n };
  }
}

/** Token ids from a file: a JSON array, or integers separated by whitespace or commas. */
export async function readTokenIds(file: string, vocabSize: number): Promise<Int32Array> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new TrainError(
      `${file}: cannot read token ids (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  const trimmed = text.trim();
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new TrainError(`${file}: not a valid JSON array of token ids (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new TrainError(`${file}: expected a JSON array of token ids`);
    values = parsed;
  } else {
    values = trimmed.split(/[\s,]+/).filter(Boolean);
  }
  if (values.length === 0) throw new TrainError(`${file}: holds no token ids`);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const raw = values[i];
    // the value as written, checked before any conversion: no rounding, wrapping or NaN
    const v = typeof raw === 'string' ? (/^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN) : raw;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= vocabSize) {
      const shown = typeof raw === 'string' ? `'${raw.slice(0, 40)}'` : JSON.stringify(raw)?.slice(0, 40);
      throw new TrainError(
        `${file}: token ${shown} at position ${i} is not a token id (an integer in [0, ${vocabSize}))`,
      );
    }
    out[i] = v;
  }
  return out;
}
