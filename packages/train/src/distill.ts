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
import { loadCheckpoint } from './checkpoint.js';
import {
  type CoreDistillOptions,
  DistillerCore,
  layerLosses,
  mixedPrecisionModel,
  stepRng,
  studentSeaConfig,
  studentWeights,
} from './distill_core.js';
import { TrainError } from './errors.js';
import { causalLmLoss, distillationLoss, type ModelLoss } from './losses.js';
import { checkpoint } from './tape.js';
import { ArrayTokenSource, type TokenSource } from './tokens.js';

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

/** Token windows of an OPT run: the training split, the held-out tail, the batch of a step. */
export class OptWindows {
  readonly train: TokenSource;
  readonly heldOut: TokenSource;

  constructor(
    tokens: Int32Array | TokenSource,
    readonly opts: Pick<DistillOptions, 'seqLen' | 'batch' | 'evalFraction' | 'seed'> & {
      accumulate?: number;
    },
  ) {
    const src = tokens instanceof Int32Array ? new ArrayTokenSource(tokens) : tokens;
    if (src.length < opts.seqLen) {
      throw new TrainError(
        `data has ${src.length} tokens; need at least ${opts.seqLen} for --seq-len ${opts.seqLen}`,
      );
    }
    const split = Math.min(
      src.length,
      Math.max(opts.seqLen + 1, Math.floor(src.length * (1 - opts.evalFraction))),
    );
    this.train = src.slice(0, split);
    this.heldOut = src.slice(split, src.length);
  }

  /**
   * Micro-batch `micro` of step `s`: the step draws batch·accumulate window starts from (seed, s)
   * alone, and micro-batch j takes windows [j·batch, (j+1)·batch). Accumulating a step's micro-batches
   * therefore sees the windows of one step with batch·accumulate.
   */
  ids(s: number, micro: number, backend: sea.Backend): Tensor {
    const { seqLen: T, batch: B } = this.opts;
    const n = this.opts.accumulate ?? 1;
    if (micro < 0 || micro >= n) throw new TrainError(`micro-batch ${micro} of ${n}`);
    const rng = stepRng(this.opts.seed, s);
    const starts = this.train.length - T + 1;
    const all: number[] = [];
    for (let i = 0; i < B * n; i++) all.push(rng.int(starts));
    const ids = new Int32Array(B * T);
    for (let b = 0; b < B; b++) ids.set(this.train.read(all[micro * B + b], T), b * T);
    return sea.tensor(ids, [B, T], { dtype: 'int32', backend });
  }

  close(): void {
    this.train.close();
    this.heldOut.close();
  }
}

/** Perplexity of `model` (with `parameters`, if given) on non-overlapping windows of `src`. */
export async function windowPerplexity(
  model: OptForCausalLM,
  src: TokenSource,
  T: number,
  windows: number,
  parameters?: ReadonlyMap<string, Tensor>,
): Promise<{ ppl: number; nll: number; windows: number }> {
  const n = Math.min(windows, Math.floor(src.length / T));
  let s = 0;
  for (let w = 0; w < n; w++) {
    const ids = sea.tensor(src.read(w * T, T), [1, T], { dtype: 'int32', backend: model.backend });
    const out = await model.forward(ids, parameters ? { parameters } : {});
    // the cross-entropy in float32 whatever the model computes in
    const l = sea.tidy(() =>
      causalLmLoss(out.logits.dtype === 'float32' ? out.logits : sea.cast(out.logits, 'float32'), ids),
    );
    s += (await l.data())[0];
    for (const t of [l, ids, out.logits]) t.dispose();
  }
  const nll = s / Math.max(n, 1);
  return { ppl: Math.exp(nll), nll, windows: n };
}

export class Distiller extends DistillerCore<OptForCausalLM, Tensor, OptOutput, DistillOptions> {
  readonly windows: OptWindows;

  private constructor(
    teacher: OptForCausalLM,
    student: { model: OptForCausalLM; masters?: Map<string, Tensor> },
    tokens: Int32Array | TokenSource,
    opts: DistillOptions,
  ) {
    super(teacher, student.model, opts, student.masters);
    this.windows = new OptWindows(tokens, opts);
  }

  get train(): TokenSource {
    return this.windows.train;
  }

  get heldOut(): TokenSource {
    return this.windows.heldOut;
  }

  get cfg(): OptConfig {
    return this.teacher.config;
  }

  /**
   * The student: the teacher's tensors with `overrides` (a checkpoint's) by name; SEA/Performer
   * modules from `overrides`' `.sea.` tensors, else fresh from seed + 1 (+ layer). With a 16-bit
   * compute dtype the model holds their casts and the float32 masters come apart.
   */
  private static student(
    teacher: OptForCausalLM,
    opts: DistillOptions,
    overrides: Record<string, Tensor> = {},
  ): Promise<{ model: OptForCausalLM; masters?: Map<string, Tensor> }> {
    return mixedPrecisionModel(studentWeights(teacher, overrides), opts.computeDtype, (w, dtype) =>
      OptForCausalLM.fromWeights(teacher.config, w, {
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
    teacher: OptForCausalLM,
    tokens: Int32Array | TokenSource,
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
  static async resume(
    dir: string,
    teacher: OptForCausalLM,
    tokens: Int32Array | TokenSource,
  ): Promise<Distiller> {
    const c = await loadCheckpoint(dir);
    const opts = { ...DEFAULT_DISTILL, ...(c.state.options as Partial<DistillOptions>) };
    const student = await Distiller.student(teacher, opts, { ...c.model, ...c.sea });
    return new Distiller(teacher, student, tokens, opts).restore(c);
  }

  /** Micro-batch `micro` of step `s` (see `OptWindows.ids`). */
  batchIds(s: number, micro = 0): Tensor {
    return this.windows.ids(s, micro, this.teacher.backend);
  }

  protected makeBatch(s: number, micro: number): Tensor {
    return this.batchIds(s, micro);
  }

  protected batchTensors(ids: Tensor): Tensor[] {
    return [ids];
  }

  protected run(
    model: OptForCausalLM,
    ids: Tensor,
    parameters?: ReadonlyMap<string, Tensor>,
  ): Promise<OptOutput> {
    return model.forward(ids, {
      outputHiddenStates: true,
      captureAttention: true,
      parameters,
      ...(parameters && this.opts.checkpointLayers ? { checkpoint } : {}),
    });
  }

  protected loss(teacher: OptOutput | null, student: OptOutput, ids: Tensor): ModelLoss {
    if (!teacher) throw new TrainError('distillation needs the teacher outputs');
    return optDistillationLoss(teacher, student, ids);
  }

  /** Perplexity of the student (and the teacher) on non-overlapping held-out windows. */
  async evalPerplexity(): Promise<{ ppl: number; teacherPpl: number; windows: number }> {
    const T = this.opts.seqLen;
    const src = this.heldOut.length >= T ? this.heldOut : this.train;
    const st = await this.withEvalParameters((p) =>
      windowPerplexity(this.student, src, T, this.opts.evalWindows, p),
    );
    const te = await windowPerplexity(this.teacher, src, T, this.opts.evalWindows);
    return { ppl: st.ppl, teacherPpl: te.ppl, windows: st.windows };
  }

  override dispose(): void {
    super.dispose();
    this.windows.close();
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
