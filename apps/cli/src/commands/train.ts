/**
 * `sea train`: plain language-model training of an OPT (from scratch, or continued from a model
 * folder) with the trainer behind `sea distill` (@sea/train's LmTrainer): next-token cross-entropy,
 * AdamW with warmup and cosine decay, gradient accumulation, activation checkpointing, windows
 * streamed from a binary ids file, resumable checkpoints in --out, a wall-clock budget per piece
 * (`--max-minutes`: save and exit, to continue with --resume), perplexity on an evaluation file, and
 * the exported model folder <out>/model (config.json + model.safetensors).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeaError } from '@sea/tensor';
import { writeSafetensors } from '@sea/tensor/node';
import {
  broadcastParameters,
  CommunicatorReducer,
  DynamicLossScaler,
  LmTrainer,
  lineChartSvg,
  NcclCommunicator,
  ncclUniqueIdHex,
  OPT_125M_CONFIG,
  type StepLog,
  type TokenSource,
} from '@sea/train';
import { chooseBackend } from '../backends.js';
import { progressBar } from '../progress.js';
import { readTokens } from './distill.js';

export interface TrainCommandOptions {
  /** A config.json (file or folder) or 'opt-125m'. */
  config: string;
  data: string;
  evalData?: string;
  steps: number;
  seqLen: number;
  batch: number;
  accumulate: number;
  lr: number;
  warmup: number;
  schedule: 'cosine' | 'constant';
  minLrRatio: number;
  checkpointLayers?: boolean;
  computeDtype?: 'float32' | 'bfloat16' | 'float16';
  seed: number;
  out: string;
  evalEvery: number;
  evalWindows: number;
  saveEvery: number;
  maxMinutes?: number;
  /** Data parallel over this many GPUs: one process per GPU, NCCL (the global batch stays batch × accumulate). */
  gpus?: number;
  resume?: boolean;
  backend?: string;
  progress?: boolean;
}

function readConfig(spec: string): Record<string, unknown> {
  if (spec === 'opt-125m') return { ...OPT_125M_CONFIG };
  const file = fs.existsSync(spec) && fs.statSync(spec).isDirectory() ? path.join(spec, 'config.json') : spec;
  if (!fs.existsSync(file)) {
    throw new SeaError(
      'E_ARGS',
      `--config ${spec}: no such file (a config.json, a model folder, or 'opt-125m')`,
    );
  }
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (raw.model_type !== 'opt') {
    throw new SeaError(
      'E_ARGS',
      `--config ${file}: model_type '${String(raw.model_type)}'; sea train takes OPT`,
    );
  }
  return raw;
}

export async function trainCommand(o: TrainCommandOptions): Promise<void> {
  for (const [flag, v] of [
    ['--steps', o.steps],
    ['--seq-len', o.seqLen],
    ['--batch', o.batch],
    ['--accumulate', o.accumulate],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new SeaError('E_ARGS', `${flag} must be a positive integer, got ${v}`);
  }
  const worldSize = Number(process.env.SEA_WORLD_SIZE ?? 1);
  if ((o.gpus ?? 1) > 1 && worldSize === 1) {
    await launchRanks(o.gpus as number);
    return;
  }
  const backend = await chooseBackend(o.backend ?? 'auto');
  fs.mkdirSync(o.out, { recursive: true });
  const resumable = !!o.resume && fs.existsSync(path.join(o.out, 'latest.json'));
  const hf = readConfig(o.config);
  const vocab = Number(hf.vocab_size);
  const tokens = await readTokens(o.data, vocab);
  const t = resumable
    ? await LmTrainer.resume(o.out, tokens)
    : await LmTrainer.create(hf, tokens, {
        seqLen: o.seqLen,
        batch: o.batch,
        accumulate: o.accumulate,
        lr: o.lr,
        warmup: o.warmup,
        schedule: o.schedule,
        totalSteps: o.steps,
        minLrRatio: o.minLrRatio,
        checkpointLayers: o.checkpointLayers ?? false,
        computeDtype: o.computeDtype ?? 'float32',
        seed: o.seed,
        evalWindows: o.evalWindows,
      });
  // float16 compute: dynamic loss scaling (not saved: a resumed piece starts again at 2^16)
  if (t.opts.computeDtype === 'float16') t.lossScaler = new DynamicLossScaler();
  // one process per GPU (started by --gpus): NCCL all-reduce of the gradients, rank 0 writes
  let comm: NcclCommunicator | null = null;
  if (worldSize > 1) {
    comm = await NcclCommunicator.create(Number(process.env.SEA_RANK), worldSize, backend);
    t.reducer = new CommunicatorReducer(comm);
    t.params = await broadcastParameters(comm, t.params);
  }
  const lead = !comm || comm.rank === 0;
  const evalSrc: TokenSource | null = o.evalData ? toSource(await readTokens(o.evalData, vocab)) : null;
  const logFile = path.join(o.out, 'loss.jsonl');
  if (!resumable && lead) fs.writeFileSync(logFile, '');
  const history: StepLog[] = [];
  const evals: [number, number][] = [];
  const evaluate = async () => {
    const held = await t.evalPerplexity();
    const ev = evalSrc ? await t.evalPerplexity(evalSrc) : null;
    const result = { heldOutPpl: held.ppl, evalPpl: ev?.ppl, evalWindows: ev?.windows };
    evals.push([t.step, held.ppl]);
    if (lead) fs.appendFileSync(logFile, `${JSON.stringify({ step: t.step, eval: result })}\n`);
    return result;
  };
  const plot = () => {
    const series = [
      { name: 'loss (CE)', points: history.map((h) => [h.step, h.loss] as const) },
      { name: 'held-out ppl', points: evals },
    ];
    fs.writeFileSync(
      path.join(o.out, 'loss.svg'),
      lineChartSvg(series, {
        title: `sea train (T=${t.opts.seqLen}, batch ${t.opts.batch}×${t.microBatches})`,
        logY: true,
      }),
    );
  };
  const perStep = t.opts.batch * t.microBatches * t.opts.seqLen;
  const bar = progressBar(o.steps, 'train', o.progress ?? process.stderr.isTTY);
  const start = performance.now();
  const deadline = o.maxMinutes ? start + o.maxMinutes * 60_000 : Number.POSITIVE_INFINITY;
  let seen = 0;
  let stopped = false;
  while (t.step < o.steps) {
    const log = await t.trainStep();
    history.push(log);
    seen += perStep;
    if (lead) fs.appendFileSync(logFile, `${JSON.stringify(log)}\n`);
    const extra: Record<string, string | number> = {
      rate: Math.round(seen / ((performance.now() - start) / 1000)),
      loss: log.loss.toPrecision(4),
    };
    if (o.evalEvery > 0 && t.step % o.evalEvery === 0) extra.ppl = (await evaluate()).heldOutPpl.toFixed(2);
    if (lead && o.saveEvery > 0 && t.step % o.saveEvery === 0) await t.save(o.out);
    bar.tick(t.step, extra);
    if (lead && t.step % 10 === 0) plot();
    // leave room for one more step and the checkpoint inside the budget
    const perStepMs = (performance.now() - start) / history.length;
    let stop = t.step < o.steps && performance.now() + 2 * perStepMs > deadline;
    // every rank stops at the same step
    if (comm) stop = (await comm.allReduceNumbers([stop ? 1 : 0]))[0] > 0;
    if (stop) {
      stopped = true;
      break;
    }
  }
  bar.stop();
  if (!lead) {
    comm?.close();
    t.dispose();
    return;
  }
  await t.save(o.out);
  if (stopped) {
    plot();
    process.stdout.write(
      `stopped at step ${t.step}/${o.steps} (--max-minutes ${o.maxMinutes}); continue with the same command and --resume\n`,
    );
    t.dispose();
    return;
  }
  const ev = await evaluate();
  plot();
  const exported = await exportLm(t, hf, o.out);
  process.stdout.write(
    `trained ${t.step} steps: loss ${history.at(-1)?.loss.toPrecision(4) ?? '-'}, held-out ppl ${ev.heldOutPpl.toFixed(3)}` +
      `${ev.evalPpl !== undefined ? `, --eval-data ppl ${ev.evalPpl.toFixed(3)} (${ev.evalWindows} windows)` : ''}; ` +
      `log ${logFile}, checkpoint ${o.out}, model ${exported}\n`,
  );
  fs.writeFileSync(path.join(o.out, 'result.json'), `${JSON.stringify({ step: t.step, ...ev }, null, 2)}\n`);
  t.dispose();
}

function toSource(x: Int32Array | TokenSource): TokenSource {
  if (!(x instanceof Int32Array)) return x;
  return {
    length: x.length,
    read: (s, n) => x.subarray(s, s + n),
    slice: (a, b) => toSource(x.subarray(a, b)),
    close() {},
  };
}

/** <out>/model: config.json and model.safetensors of the trained weights (written, then renamed into place). */
async function exportLm(t: LmTrainer, hf: Record<string, unknown>, out: string): Promise<string> {
  const dir = path.join(out, 'model');
  const tmp = path.join(out, `.model.${process.pid}.tmp`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  try {
    fs.writeFileSync(
      path.join(tmp, 'config.json'),
      `${JSON.stringify({ ...hf, torch_dtype: 'float32', trained_steps: t.step }, null, 2)}\n`,
    );
    const { model } = t.splitWeights();
    await writeSafetensors(path.join(tmp, 'model.safetensors'), model, {
      format: 'pt',
      steps: String(t.step),
    });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/**
 * The --gpus launcher: a NCCL unique id, then one child process per GPU running the same command with
 * SEA_RANK, SEA_WORLD_SIZE, SEA_NCCL_ID and CUDA_VISIBLE_DEVICES = its rank (NCCL_NVLS_ENABLE=0).
 * Rank 0 prints; the others share stderr only. Fails if any rank fails.
 */
async function launchRanks(n: number): Promise<void> {
  const { spawn } = await import('node:child_process');
  const id = await ncclUniqueIdHex();
  const codes = await Promise.all(
    Array.from({ length: n }, (_, r) => {
      const child = spawn(process.execPath, process.argv.slice(1), {
        env: {
          ...process.env,
          SEA_RANK: String(r),
          SEA_WORLD_SIZE: String(n),
          SEA_NCCL_ID: id,
          CUDA_VISIBLE_DEVICES: String(r),
          NCCL_NVLS_ENABLE: '0',
        },
        stdio: r === 0 ? 'inherit' : ['ignore', 'ignore', 'inherit'],
      });
      return new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
    }),
  );
  const bad = codes.findIndex((c) => c !== 0);
  if (bad >= 0) throw new SeaError('E_RUNTIME', `rank ${bad} of ${n} exited with status ${codes[bad]}`);
}
