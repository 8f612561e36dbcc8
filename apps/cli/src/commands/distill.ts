/**
 * `sea distill`: teaches SEA (or Performer) attention from a dense teacher (docs/algorithm.md §9) on the CPU or
 * any backend, with a progress bar, a JSON-lines loss log, an SVG plot of the loss curves, evaluation
 * every N steps, resumable checkpoints in --out and an exported model folder <out>/model. The teacher's
 * config.json says which recipe runs: OPT (model_type 'opt': token windows, held-out perplexity) or
 * BERT (model_type 'bert': GLUE MRPC/SST-2 examples with their labels, held-out accuracy and F1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BertForSequenceClassification } from '@sea/bert';
import { assertFiniteTensors } from '@sea/model-common';
import { OptForCausalLM } from '@sea/opt';
import { SeaError, type Tensor } from '@sea/tensor';
import { writeSafetensors } from '@sea/tensor/node';
import { type BertTokenizer, writeTokenizerFiles } from '@sea/tokenizers';
import {
  BertDistiller,
  DEFAULT_BERT_DISTILL,
  Distiller,
  DynamicLossScaler,
  FileTokenSource,
  findCheckpoint,
  type GlueFeatures,
  lineChartSvg,
  readTokenIds,
  removeStaleTemps,
  type Series,
  type StepLog,
  type StudentAttention,
  type TokenSource,
} from '@sea/train';
import { chooseBackend } from '../backends.js';
import { isTokenIdFile, tokenizeFiles } from '../corpus.js';
import { GLUE_TASKS, type GlueExample, type GlueTask, glueFile, readGlue } from '../data.js';
import { type Progress, progressBar, progressLines } from '../progress.js';
import { loadCliTokenizer } from './common.js';

export interface DistillCommandOptions {
  teacher: string;
  /** OPT: required; BERT: defaults to the task's train file (MRPC) or dev file (SST-2). */
  data?: string;
  /** BERT: the GLUE task (mrpc or sst2). */
  task?: string;
  steps: number;
  /** OPT: tokens per window; BERT: truncation length (default 128). */
  seqLen: number;
  batch: number;
  k: number;
  predictorLength: number;
  nbf: number;
  attention: string;
  /** Micro-batches per optimizer step. */
  accumulate?: number;
  /** Recompute student layers in backward. */
  checkpointLayers?: boolean;
  /** Mixed precision: the student computes in this dtype over float32 master weights. */
  computeDtype?: 'float32' | 'bfloat16' | 'float16';
  topkMode?: string;
  kOversample?: number;
  partialAttentionScaler?: boolean;
  nHashes?: number;
  lr: number;
  seed: number;
  out: string;
  evalEvery: number;
  evalWindows: number;
  /** BERT: held-out examples per evaluation. */
  evalExamples?: number;
  saveEvery: number;
  /** Stop with a checkpoint before this much wall time (a resumable piece of a long run). */
  maxMinutes?: number;
  log?: string;
  resume?: boolean;
  backend?: string;
  exportDtype?: 'float32' | 'float16';
  progress?: boolean;
}

/** Which flags the user left at their (OPT) defaults; BERT then takes docs/algorithm.md's BERT values. */
export type FlagIsDefault = (flag: 'seqLen' | 'batch' | 'k' | 'predictorLength' | 'nbf') => boolean;

const CURVES: (keyof StepLog)[] = ['loss', 'ce', 'hidden', 'logitsKl', 'layer', 'approx', 'prob', 'context'];

/** What the loop needs from either distiller. */
interface Run {
  d: Distiller | BertDistiller;
  /** Tokens (OPT) or examples (BERT) per step, for the rate. */
  perStep: number;
  /** Evaluates, returning the plotted value, the progress-bar fields and the summary line. */
  evaluate(): Promise<{ plot: number; bar: Record<string, string>; line: string; result: object }>;
  evalName: string;
  /** Extra fields of the exported config's `sea` block. */
  seaBlock(result: object): Record<string, unknown>;
  dispose(): void;
}

function modelType(teacher: string): string {
  const file = path.join(teacher, 'config.json');
  if (!fs.existsSync(file)) {
    throw new SeaError(
      'E_ARGS',
      `--teacher ${teacher} has no config.json: expected a Hugging Face model folder`,
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SeaError('E_MODEL_LOAD', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new SeaError('E_MODEL_LOAD', `${file} is not a JSON object`);
  return String((config as { model_type?: unknown }).model_type);
}

/** Checks the numeric flags before anything is loaded. */
function checkFlags(o: DistillCommandOptions): void {
  const atLeast = (flag: string, v: number, min: number, max = 2 ** 31 - 1) => {
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new SeaError('E_ARGS', `${flag} must be an integer from ${min} to ${max}, got ${v}`);
  };
  atLeast('--steps', o.steps, 1);
  atLeast('--seq-len', o.seqLen, 2, 1 << 20);
  atLeast('--batch', o.batch, 1, 1 << 16);
  atLeast('--k', o.k, 1);
  atLeast('--predictor-length', o.predictorLength, 1);
  atLeast('--eval-every', o.evalEvery, 0);
  atLeast('--eval-windows', o.evalWindows, 1);
  if (o.evalExamples !== undefined) atLeast('--eval-examples', o.evalExamples, 1);
  atLeast('--save-every', o.saveEvery, 0);
  atLeast('--seed', o.seed, 0);
  for (const [flag, v] of [
    ['--lr', o.lr],
    ['--nbf', o.nbf],
  ] as const) {
    if (!(Number.isFinite(v) && v > 0))
      throw new SeaError('E_ARGS', `${flag} must be a positive number, got ${v}`);
  }
}

/**
 * Keeps the loss log's lines up to `step` (a resumed run appends the steps after it again); the
 * rest of a log written past the checkpoint by the interrupted run is dropped. Replaced atomically.
 */
export function truncateLog(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const keep = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (!line.trim()) return false;
      try {
        const s = (JSON.parse(line) as { step?: unknown }).step;
        return typeof s === 'number' && s <= step;
      } catch {
        return false; // a line torn by the kill
      }
    });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, keep.map((l) => `${l}\n`).join(''));
  fs.renameSync(tmp, file);
}

export async function distillCommand(
  o: DistillCommandOptions,
  isDefault: FlagIsDefault = () => false,
): Promise<void> {
  if (!STUDENT_ATTENTION.includes(o.attention as StudentAttention)) {
    throw new SeaError(
      'E_ARGS',
      `--attention must be one of ${STUDENT_ATTENTION.join(', ')}, got '${o.attention}'`,
    );
  }
  if (!Number.isInteger(o.accumulate ?? 1) || (o.accumulate ?? 1) < 1) {
    throw new SeaError('E_ARGS', `--accumulate must be a positive integer, got ${o.accumulate}`);
  }
  checkFlags(o);
  await chooseBackend(o.backend ?? 'auto');
  const type = modelType(o.teacher);
  fs.mkdirSync(o.out, { recursive: true });
  await removeStaleTemps(o.out);
  const resumable = !!o.resume && (await findCheckpoint(o.out)) !== undefined;
  let run: Run;
  if (type === 'opt') run = await optRun(o, resumable);
  else if (type === 'bert') run = await bertRun(o, resumable, isDefault);
  else
    throw new SeaError(
      'E_ARGS',
      `--teacher has model_type '${type}': sea distill takes 'opt' or 'bert' models`,
    );
  // float16 compute: dynamic loss scaling (not saved: a resumed piece starts again at 2^16)
  if (run.d.opts.computeDtype === 'float16') run.d.lossScaler = new DynamicLossScaler();
  try {
    await distillLoop(o, run, resumable);
  } finally {
    run.dispose();
  }
}

async function distillLoop(o: DistillCommandOptions, run: Run, resumable: boolean): Promise<void> {
  const { d } = run;
  // the teacher is the reference: a NaN or infinite weight in it would train the student on garbage
  await assertFiniteTensors(Object.entries(d.params), 'the student (copied from the teacher)');
  const logFile = o.log ?? path.join(o.out, 'loss.jsonl');
  if (!resumable) fs.writeFileSync(logFile, '');
  else truncateLog(logFile, d.step);
  const history: StepLog[] = [];
  const evals: [number, number][] = [];
  if (!resumable) fs.writeFileSync(logFile, '');
  else resumeLog(logFile, d.step, history, evals, run.evalName);
  const bar: Progress =
    o.progress === false
      ? progressBar(0, '', false)
      : (o.progress ?? process.stderr.isTTY)
        ? progressBar(o.steps, 'distill', true)
        : progressLines(o.steps, 'distill', Math.max(1, Math.round(o.steps / 20)));
  const plot = () => {
    const series: Series[] = CURVES.map((c) => ({
      name: c,
      points: history.map((h) => [h.step, h[c] as number] as const),
    }));
    if (evals.length) series.push({ name: run.evalName, points: evals });
    const T = d instanceof Distiller ? `T=${d.opts.seqLen}` : `max length ${d.opts.maxLength}`;
    const title = `sea distill (${d.opts.attention}, ${T}, K=${d.opts.predictorLength}, k=${d.opts.k})`;
    fs.writeFileSync(path.join(o.out, 'loss.svg'), lineChartSvg(series, { title, logY: true }));
  };
  const evaluate = async () => {
    const ev = await run.evaluate();
    evals.push([d.step, ev.plot]);
    fs.appendFileSync(logFile, `${JSON.stringify({ step: d.step, eval: ev.result })}\n`);
    return ev;
  };
  let seen = 0;
  const start = performance.now();
  const deadline = o.maxMinutes ? start + o.maxMinutes * 60_000 : Number.POSITIVE_INFINITY;
  let steps = 0;
  while (d.step < o.steps) {
    const log = await d.trainStep();
    history.push(log);
    seen += run.perStep;
    fs.appendFileSync(logFile, `${JSON.stringify(log)}\n`);
    let extra: Record<string, string | number> = {
      rate: Math.round(seen / ((performance.now() - start) / 1000)),
      loss: log.loss.toPrecision(4),
    };
    if (o.evalEvery > 0 && d.step % o.evalEvery === 0) extra = { ...extra, ...(await evaluate()).bar };
    if (o.saveEvery > 0 && d.step % o.saveEvery === 0) await d.save(o.out);
    bar.tick(d.step, extra);
    if (d.step % 10 === 0) plot();
    steps += 1;
    // leave room for one more step and the checkpoint inside the budget
    if (d.step < o.steps && performance.now() + (2 * (performance.now() - start)) / steps > deadline) {
      bar.stop();
      await d.save(o.out);
      plot();
      process.stdout.write(
        `stopped at step ${d.step}/${o.steps} (--max-minutes ${o.maxMinutes}); continue with the same command and --resume\n`,
      );
      run.dispose();
      return;
    }
  }
  const ev = await evaluate();
  await d.save(o.out);
  plot();
  const exported = await exportModel(d, o, run.seaBlock(ev.result));
  process.stdout.write(
    `distilled ${d.step} steps (${d.opts.attention}): loss ${history.at(-1)?.loss.toPrecision(4) ?? '-'}, ` +
      `${ev.line}; log ${logFile}, plot ${path.join(o.out, 'loss.svg')}, checkpoint ${o.out}, model ${exported}\n`,
  );
}

/**
 * On --resume: keeps the log lines of the steps the checkpoint holds (later ones were lost with the
 * run that wrote them and are run again), rewriting the file, and loads them into the plotted
 * history, so that loss.svg shows the whole run.
 */
function resumeLog(
  logFile: string,
  step: number,
  history: StepLog[],
  evals: [number, number][],
  evalName: string,
): void {
  if (!fs.existsSync(logFile)) {
    fs.writeFileSync(logFile, '');
    return;
  }
  const kept: string[] = [];
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: { step?: unknown; eval?: Record<string, unknown> };
    try {
      entry = JSON.parse(line);
    } catch {
      continue; // a line cut short by the interrupted run
    }
    if (typeof entry.step !== 'number' || entry.step > step) continue;
    kept.push(line);
    if (entry.eval) {
      const v = plotValueOf(entry.eval, evalName);
      if (v !== undefined) evals.push([entry.step, v]);
    } else history.push(entry as unknown as StepLog);
  }
  const tmp = `${logFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, kept.length ? `${kept.join('\n')}\n` : '');
  fs.renameSync(tmp, logFile);
}

/** The plotted number of a logged evaluation (perplexity for OPT, accuracy for BERT). */
function plotValueOf(ev: Record<string, unknown>, evalName: string): number | undefined {
  for (const key of [evalName, 'perplexity', 'ppl', 'accuracy']) {
    if (typeof ev[key] === 'number') return ev[key] as number;
  }
  return undefined;
}

/** The attention kinds `--attention` takes. */
const STUDENT_ATTENTION: readonly StudentAttention[] = ['sea', 'performer', 'dense', 'reformer', 'cosformer'];

/** The SEA / Reformer options of the flags (only those given). */
function seaOptions(o: DistillCommandOptions): Record<string, unknown> {
  const x: Record<string, unknown> = {};
  if (o.topkMode !== undefined) x.topkMode = o.topkMode;
  if (o.kOversample !== undefined) x.kOversample = o.kOversample;
  if (o.partialAttentionScaler === false) x.partialAttentionScaler = false;
  if (o.nHashes !== undefined) x.nHashes = o.nHashes;
  if (o.computeDtype !== undefined && o.computeDtype !== 'float32') x.computeDtype = o.computeDtype;
  return x;
}

/**
 * OPT training tokens: a binary ids file (`.bin`, little-endian uint32, streamed window by window),
 * a text ids file (read whole), or text / GLUE TSV tokenized with OPT's tokenizer.
 */
export async function readTokens(file: string, vocabSize: number): Promise<Int32Array | TokenSource> {
  if (file.endsWith('.bin')) return FileTokenSource.open(file, vocabSize);
  return isTokenIdFile(file)
    ? await readTokenIds(file, vocabSize)
    : Int32Array.from((await tokenizeFiles([file])).ids);
}

async function optRun(o: DistillCommandOptions, resumable: boolean): Promise<Run> {
  if (!o.data) throw new SeaError('E_ARGS', 'an OPT teacher needs --data (token ids, text or GLUE TSV)');
  const teacher = await OptForCausalLM.load(o.teacher);
  try {
    return await optRunWith(o, resumable, teacher);
  } catch (e) {
    teacher.dispose();
    throw e;
  }
}

/** Throws NonFiniteError naming the teacher's weights that hold NaN or ±Infinity. */
async function checkTeacher(teacher: { parameters(): Map<string, Tensor> }): Promise<void> {
  const params = teacher.parameters();
  try {
    await assertFiniteTensors(params, 'the teacher');
  } finally {
    for (const t of params.values()) t.dispose();
  }
}

async function optRunWith(
  o: DistillCommandOptions,
  resumable: boolean,
  teacher: OptForCausalLM,
): Promise<Run> {
  const data = o.data as string;
  await checkTeacher(teacher);
  const tokens = await readTokens(data, teacher.config.vocabSize);
  const d = resumable
    ? await Distiller.resume(o.out, teacher, tokens)
    : await Distiller.create(teacher, tokens, {
        attention: o.attention as StudentAttention,
        accumulate: o.accumulate ?? 1,
        checkpointLayers: o.checkpointLayers ?? false,
        ...seaOptions(o),
        k: o.k,
        predictorLength: o.predictorLength,
        nbf: o.nbf,
        seqLen: o.seqLen,
        batch: o.batch,
        lr: o.lr,
        seed: o.seed,
        evalWindows: o.evalWindows,
      });
  return {
    d,
    perStep: d.opts.batch * (d.opts.accumulate ?? 1) * d.opts.seqLen,
    evalName: 'eval ppl',
    async evaluate() {
      const ev = await d.evalPerplexity();
      return {
        plot: ev.ppl,
        bar: { ppl: ev.ppl.toFixed(2) },
        line: `held-out ppl ${ev.ppl.toFixed(3)} (teacher ${ev.teacherPpl.toFixed(3)}, ${ev.windows} windows)`,
        result: ev,
      };
    },
    seaBlock: (ev) => {
      const e = ev as { ppl: number; teacherPpl: number };
      return { seq_len: d.opts.seqLen, held_out_ppl: e.ppl, teacher_held_out_ppl: e.teacherPpl };
    },
    dispose() {
      d.dispose();
      teacher.dispose();
    },
  };
}

/** Tokenized examples ([CLS] a [SEP] (b [SEP]), truncated longest-first to maxLength). */
function featurize(tok: BertTokenizer, xs: readonly GlueExample[], maxLength: number): GlueFeatures[] {
  return xs.map((e) => {
    const enc = tok.encode(e.a, e.b ?? null, { truncation: 'longest_first', maxLength });
    return { ids: enc.inputIds, typeIds: enc.tokenTypeIds, label: e.label };
  });
}

/**
 * The BERT data: --data (a TSV of the task) or the task's train file (MRPC) / dev file (SST-2, which
 * has no train file here); held out: the task's dev file, or, when training on it, its last 10%.
 */
function glueSplits(
  task: GlueTask,
  data: string | undefined,
): { train: GlueExample[]; heldOut: GlueExample[]; files: string } {
  const dev = glueFile(task, 'dev');
  const file = data ?? (task === 'mrpc' ? glueFile(task, 'train') : dev);
  const all = readGlue(task, file).examples;
  if (path.resolve(file) !== path.resolve(dev)) {
    return { train: all, heldOut: readGlue(task, dev).examples, files: `train ${file}, held out ${dev}` };
  }
  const cut = Math.floor(all.length * 0.9);
  return {
    train: all.slice(0, cut),
    heldOut: all.slice(cut),
    files: `${file}: first ${cut} train, last ${all.length - cut} held out`,
  };
}

async function bertRun(o: DistillCommandOptions, resumable: boolean, isDefault: FlagIsDefault): Promise<Run> {
  const task = (o.task ?? 'mrpc') as GlueTask;
  if (!GLUE_TASKS.includes(task))
    throw new SeaError('E_ARGS', `--task must be one of ${GLUE_TASKS.join(', ')}, got '${o.task}'`);
  const B = DEFAULT_BERT_DISTILL;
  const pick = <K extends 'batch' | 'k' | 'predictorLength' | 'nbf'>(f: K): number =>
    isDefault(f) ? B[f] : o[f];
  const maxLength = isDefault('seqLen') ? B.maxLength : o.seqLen;
  const teacher = await BertForSequenceClassification.load(o.teacher);
  try {
    return await bertRunWith(o, resumable, teacher, task, maxLength, pick);
  } catch (e) {
    teacher.dispose();
    throw e;
  }
}

async function bertRunWith(
  o: DistillCommandOptions,
  resumable: boolean,
  teacher: BertForSequenceClassification,
  task: GlueTask,
  maxLength: number,
  pick: (f: 'batch' | 'k' | 'predictorLength' | 'nbf') => number,
): Promise<Run> {
  const B = DEFAULT_BERT_DISTILL;
  if (teacher.config.numLabels !== 2) {
    throw new SeaError(
      'E_ARGS',
      `${task} is a two-class task but the teacher has ${teacher.config.numLabels} labels`,
    );
  }
  await checkTeacher(teacher);
  const tok = await loadCliTokenizer(o.teacher, 'bert');
  const splits = glueSplits(task, o.data);
  const train = featurize(tok, splits.train, Math.min(maxLength, teacher.config.maxPositionEmbeddings));
  const heldOut = featurize(tok, splits.heldOut, Math.min(maxLength, teacher.config.maxPositionEmbeddings));
  const d = resumable
    ? await BertDistiller.resume(o.out, teacher, train, heldOut)
    : await BertDistiller.create(teacher, train, heldOut, {
        attention: o.attention as StudentAttention,
        accumulate: o.accumulate ?? 1,
        checkpointLayers: o.checkpointLayers ?? false,
        ...seaOptions(o),
        k: pick('k'),
        predictorLength: pick('predictorLength'),
        nbf: pick('nbf'),
        batch: pick('batch'),
        maxLength,
        lr: o.lr,
        seed: o.seed,
        evalExamples: o.evalExamples ?? B.evalExamples,
      });
  const pct = (x: number) => (100 * x).toFixed(2);
  return {
    d,
    perStep: d.opts.batch * (d.opts.accumulate ?? 1),
    evalName: 'eval accuracy',
    async evaluate() {
      const ev = await d.evalGlue();
      return {
        plot: ev.accuracy,
        bar: { acc: pct(ev.accuracy) },
        line:
          `held-out ${task} accuracy ${pct(ev.accuracy)}% F1 ${pct(ev.f1)} ` +
          `(teacher ${pct(ev.teacherAccuracy)}% F1 ${pct(ev.teacherF1)}, ${ev.examples} examples; ${splits.files})`,
        result: ev,
      };
    },
    seaBlock: (ev) => {
      const e = ev as Awaited<ReturnType<BertDistiller['evalGlue']>>;
      return {
        task,
        max_length: d.opts.maxLength,
        held_out_accuracy: e.accuracy,
        held_out_f1: e.f1,
        teacher_held_out_accuracy: e.teacherAccuracy,
        teacher_held_out_f1: e.teacherF1,
      };
    },
    dispose() {
      d.dispose();
      teacher.dispose();
    },
  };
}

/**
 * Writes `<out>/model`: a Hugging Face folder (the teacher's config.json with a `sea` block naming the
 * attention it was distilled for, model.safetensors with the student's weights in --export-dtype) and
 * sea.safetensors (SEA / Performer weights, float32) that `sea eval --model` (OPT) and `sea glue
 * --model` (BERT) pick up, and the tokenizer files (the teacher's, else the bundled vocabulary). Written to a temporary folder first, then renamed.
 */
async function exportModel(
  d: Distiller | BertDistiller,
  o: DistillCommandOptions,
  extra: Record<string, unknown>,
): Promise<string> {
  const dir = path.join(o.out, 'model');
  const { model, sea: seaW } = d.splitWeights();
  await assertFiniteTensors(
    [...Object.entries(model), ...Object.entries(seaW)],
    `step ${d.step}: refusing to export the model`,
  );
  const tmp = path.join(o.out, `.model.${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    const config = JSON.parse(fs.readFileSync(path.join(o.teacher, 'config.json'), 'utf8'));
    config.torch_dtype = o.exportDtype ?? 'float32';
    config.sea = {
      attention: d.opts.attention,
      k: d.opts.k,
      predictor_length: d.opts.predictorLength,
      nbf: d.opts.nbf,
      distilled_from: path.basename(path.resolve(o.teacher)),
      steps: d.step,
      ...extra,
    };
    fs.writeFileSync(path.join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const meta = { format: 'pt', steps: String(d.step) };
    await writeSafetensors(
      path.join(tmp, 'model.safetensors'),
      model,
      meta,
      o.exportDtype === 'float16' ? { storage: (_n, dt) => (dt === 'F32' ? 'F16' : undefined) } : {},
    );
    await writeSafetensors(path.join(tmp, 'sea.safetensors'), seaW, meta);
    await writeTokenizerFiles(tmp, d instanceof Distiller ? 'opt' : 'bert', o.teacher);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
