/**
 * `sea distill`: teaches SEA (or Performer) attention from a dense OPT teacher (spec §9) on the CPU
 * or any backend, with a progress bar, a JSON-lines loss log, an SVG plot of the loss curves,
 * perplexity evaluation every N steps and resumable checkpoints in --out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OptForCausalLM } from '@sea/opt';
import { SeaError, type Tensor, writeSafetensors } from '@sea/tensor';
import { Distiller, isSeaParam, lineChartSvg, readTokenIds, type Series, type StepLog } from '@sea/train';
import { chooseBackend } from '../backends.js';
import { isTokenIdFile, tokenizeFiles } from '../corpus.js';
import { progressBar } from '../progress.js';

export interface DistillCommandOptions {
  teacher: string;
  data: string;
  steps: number;
  seqLen: number;
  batch: number;
  k: number;
  predictorLength: number;
  nbf: number;
  attention: string;
  lr: number;
  seed: number;
  out: string;
  evalEvery: number;
  evalWindows: number;
  saveEvery: number;
  log?: string;
  resume?: boolean;
  backend?: string;
  exportDtype?: 'float32' | 'float16';
  progress?: boolean;
}

const CURVES: (keyof StepLog)[] = ['loss', 'ce', 'hidden', 'logitsKl', 'layer', 'approx', 'prob', 'context'];

export async function distillCommand(o: DistillCommandOptions): Promise<void> {
  if (o.attention !== 'sea' && o.attention !== 'performer') {
    throw new SeaError('E_ARGS', `--attention must be sea or performer, got '${o.attention}'`);
  }
  await chooseBackend(o.backend ?? 'auto');
  const teacher = await OptForCausalLM.load(o.teacher);
  const tokens = isTokenIdFile(o.data)
    ? await readTokenIds(o.data, teacher.config.vocabSize)
    : Int32Array.from((await tokenizeFiles([o.data])).ids);
  fs.mkdirSync(o.out, { recursive: true });
  const resumable = o.resume && fs.existsSync(path.join(o.out, 'latest.json'));
  const d = resumable
    ? await Distiller.resume(o.out, teacher, tokens)
    : await Distiller.create(teacher, tokens, {
        attention: o.attention,
        k: o.k,
        predictorLength: o.predictorLength,
        nbf: o.nbf,
        seqLen: o.seqLen,
        batch: o.batch,
        lr: o.lr,
        seed: o.seed,
        evalWindows: o.evalWindows,
      });
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
    if (evals.length) series.push({ name: 'eval ppl', points: evals });
    const title = `sea distill (${d.opts.attention}, T=${d.opts.seqLen}, K=${d.opts.predictorLength}, k=${d.opts.k})`;
    fs.writeFileSync(path.join(o.out, 'loss.svg'), lineChartSvg(series, { title, logY: true }));
  };
  const evaluate = async () => {
    const ev = await d.evalPerplexity();
    evals.push([d.step, ev.ppl]);
    fs.appendFileSync(logFile, `${JSON.stringify({ step: d.step, eval: ev })}\n`);
    return ev;
  };
  let tokensSeen = 0;
  const start = performance.now();
  while (d.step < o.steps) {
    const log = await d.trainStep();
    history.push(log);
    tokensSeen += d.opts.batch * d.opts.seqLen;
    fs.appendFileSync(logFile, `${JSON.stringify(log)}\n`);
    const extra: Record<string, string | number> = {
      rate: Math.round(tokensSeen / ((performance.now() - start) / 1000)),
      loss: log.loss.toPrecision(4),
    };
    if (o.evalEvery > 0 && d.step % o.evalEvery === 0) extra.ppl = (await evaluate()).ppl.toFixed(2);
    if (o.saveEvery > 0 && d.step % o.saveEvery === 0) await d.save(o.out);
    bar.tick(d.step, extra);
    if (d.step % 10 === 0) plot();
  }
  bar.stop();
  const ev = await evaluate();
  await d.save(o.out);
  plot();
  const exported = await exportModel(d, o, ev);
  process.stdout.write(
    `distilled ${d.step} steps (${d.opts.attention}): loss ${history.at(-1)?.loss.toPrecision(4) ?? '-'}, ` +
      `held-out ppl ${ev.ppl.toFixed(3)} (teacher ${ev.teacherPpl.toFixed(3)}, ${ev.windows} windows); ` +
      `log ${logFile}, plot ${path.join(o.out, 'loss.svg')}, checkpoint ${o.out}, model ${exported}\n`,
  );
  d.dispose();
  teacher.dispose();
}

/**
 * Writes `<out>/model`: a Hugging Face OPT folder (the teacher's config.json with a `sea` block naming
 * the attention it was distilled for, model.safetensors with the student's weights in --export-dtype)
 * and sea.safetensors (SEA / Performer weights, float32) that `sea eval --model` picks up. Written
 * to a temporary folder first, then renamed.
 */
async function exportModel(
  d: Distiller,
  o: DistillCommandOptions,
  ev: { ppl: number; teacherPpl: number; windows: number },
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
      seq_len: d.opts.seqLen,
      held_out_ppl: ev.ppl,
      teacher_held_out_ppl: ev.teacherPpl,
    };
    fs.writeFileSync(path.join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const model: Record<string, Tensor> = {};
    const seaW: Record<string, Tensor> = { ...d.buffers };
    for (const [n, t] of Object.entries(d.params)) (isSeaParam(n) ? seaW : model)[n] = t;
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
