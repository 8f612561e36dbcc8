/**
 * `sea distill`: teaches SEA (or Performer) attention from a dense OPT teacher (spec §9) on the CPU
 * or any backend, with a progress bar, a JSON-lines loss log, an SVG plot of the loss curves,
 * perplexity evaluation every N steps and resumable checkpoints in --out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OptForCausalLM } from '@sea/opt';
import { SeaError } from '@sea/tensor';
import { Distiller, lineChartSvg, readTokenIds, type Series, type StepLog } from '@sea/train';
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
  process.stdout.write(
    `distilled ${d.step} steps (${d.opts.attention}): loss ${history.at(-1)?.loss.toPrecision(4) ?? '-'}, ` +
      `held-out ppl ${ev.ppl.toFixed(3)} (teacher ${ev.teacherPpl.toFixed(3)}, ${ev.windows} windows); ` +
      `log ${logFile}, plot ${path.join(o.out, 'loss.svg')}, checkpoint ${o.out}\n`,
  );
  d.dispose();
  teacher.dispose();
}
