/**
 * `sea distill`: teaches SEA (or Performer) attention from a dense teacher (spec §9) on the CPU or
 * any backend, with a progress bar, a JSON-lines loss log, an SVG plot of the loss curves, evaluation
 * every N steps, resumable checkpoints in --out and an exported model folder <out>/model. The teacher's
 * config.json says which recipe runs: OPT (model_type 'opt': token windows, held-out perplexity) or
 * BERT (model_type 'bert': GLUE MRPC/SST-2 examples with their labels, held-out accuracy and F1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BertForSequenceClassification } from '@sea/bert';
import { OptForCausalLM } from '@sea/opt';
import { SeaError } from '@sea/tensor';
import { writeSafetensors } from '@sea/tensor/node';
import { BertTokenizer } from '@sea/tokenizers';
import {
  BertDistiller,
  DEFAULT_BERT_DISTILL,
  Distiller,
  FileTokenSource,
  type GlueFeatures,
  lineChartSvg,
  readTokenIds,
  type Series,
  type StepLog,
  type StudentAttention,
  type TokenSource,
} from '@sea/train';
import { chooseBackend } from '../backends.js';
import { isTokenIdFile, tokenizeFiles } from '../corpus.js';
import { GLUE_TASKS, type GlueExample, type GlueTask, glueFile, readGlue } from '../data.js';
import { progressBar } from '../progress.js';

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
  /** OPT: recompute student layers in backward. */
  checkpointLayers?: boolean;
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

/** Which flags the user left at their (OPT) defaults; BERT then takes the spec's BERT values. */
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
  return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { model_type?: unknown }).model_type);
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
  await chooseBackend(o.backend ?? 'auto');
  const type = modelType(o.teacher);
  fs.mkdirSync(o.out, { recursive: true });
  const resumable = !!o.resume && fs.existsSync(path.join(o.out, 'latest.json'));
  let run: Run;
  if (type === 'opt') run = await optRun(o, resumable);
  else if (type === 'bert') run = await bertRun(o, resumable, isDefault);
  else
    throw new SeaError(
      'E_ARGS',
      `--teacher has model_type '${type}': sea distill takes 'opt' or 'bert' models`,
    );
  const { d } = run;
  const logFile = o.log ?? path.join(o.out, 'loss.jsonl');
  if (!resumable) fs.writeFileSync(logFile, '');
  const history: StepLog[] = [];
  const evals: [number, number][] = [];
  const bar = progressBar(o.steps, 'distill', o.progress ?? process.stderr.isTTY);
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
  bar.stop();
  const ev = await evaluate();
  await d.save(o.out);
  plot();
  const exported = await exportModel(d, o, run.seaBlock(ev.result));
  process.stdout.write(
    `distilled ${d.step} steps (${d.opts.attention}): loss ${history.at(-1)?.loss.toPrecision(4) ?? '-'}, ` +
      `${ev.line}; log ${logFile}, plot ${path.join(o.out, 'loss.svg')}, checkpoint ${o.out}, model ${exported}\n`,
  );
  run.dispose();
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
  const tokens = await readTokens(o.data, teacher.config.vocabSize);
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
  if (teacher.config.numLabels !== 2) {
    teacher.dispose();
    throw new SeaError(
      'E_ARGS',
      `${task} is a two-class task but the teacher has ${teacher.config.numLabels} labels`,
    );
  }
  const tok = await BertTokenizer.load();
  const splits = glueSplits(task, o.data);
  const train = featurize(tok, splits.train, Math.min(maxLength, teacher.config.maxPositionEmbeddings));
  const heldOut = featurize(tok, splits.heldOut, Math.min(maxLength, teacher.config.maxPositionEmbeddings));
  const d = resumable
    ? await BertDistiller.resume(o.out, teacher, train, heldOut)
    : await BertDistiller.create(teacher, train, heldOut, {
        attention: o.attention as StudentAttention,
        accumulate: o.accumulate ?? 1,
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
 * --model` (BERT) pick up. Written to a temporary folder first, then renamed.
 */
async function exportModel(
  d: Distiller | BertDistiller,
  o: DistillCommandOptions,
  extra: Record<string, unknown>,
): Promise<string> {
  const dir = path.join(o.out, 'model');
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
    const { model, sea: seaW } = d.splitWeights();
    const meta = { format: 'pt', steps: String(d.step) };
    await writeSafetensors(
      path.join(tmp, 'model.safetensors'),
      model,
      meta,
      o.exportDtype === 'float16' ? { storage: (_n, dt) => (dt === 'F32' ? 'F16' : undefined) } : {},
    );
    await writeSafetensors(path.join(tmp, 'sea.safetensors'), seaW, meta);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
