/**
 * Test harness for the `sea` command: runs it in this process ({@link runCli}, output captured) or
 * as a real process (tsx, with an optional preload that injects a failure), and builds the small
 * model folders the tests run on (random OPT and BERT, optionally with a NaN weight) in a temporary
 * folder per test file ({@link useFixtures}).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import '../src/backends.js';
import { releaseBackends, setBackend } from '@sea/tensor';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { afterAll, beforeAll } from 'vitest';
import { writeRandomBert, writeRandomOpt } from '../src/make_model.js';
import { runCli } from '../src/program.js';
import { activeProgressCount } from '../src/progress.js';

export const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** No exit within the time limit. */
  hung: boolean;
  /** Progress bars still running after the command returned. */
  barsLeft: number;
}

/** Runs `sea ...args` in this process with stdout and stderr captured. */
export async function runInProcess(
  args: readonly string[],
  timeoutMs = 10_000,
  cwd?: string,
): Promise<CliResult> {
  const home = process.cwd();
  if (cwd) process.chdir(cwd);
  const out: string[] = [];
  const err: string[] = [];
  const realOut = process.stdout.write;
  const realErr = process.stderr.write;
  const grab =
    (into: string[]) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  process.stdout.write = grab(out) as typeof process.stdout.write;
  process.stderr.write = grab(err) as typeof process.stderr.write;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      runCli(['node', 'sea', ...args]),
      new Promise<'hung'>((resolve) => {
        timer = setTimeout(() => resolve('hung'), timeoutMs);
      }),
    ]);
    return {
      code: r === 'hung' ? -1 : r,
      stdout: out.join(''),
      stderr: err.join(''),
      ms: performance.now() - t0,
      hung: r === 'hung',
      barsLeft: activeProgressCount(),
    };
  } finally {
    clearTimeout(timer);
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    if (cwd) process.chdir(home);
  }
}

export interface SpawnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Killed at the time limit. */
  hung: boolean;
  /** Time from the injected throw (reported by the preload) to the process's exit, in ms. */
  exitAfterThrowMs?: number;
}

/** Runs `sea ...args` as its own process (tsx on the sources), killed after `timeoutMs`. */
export function runProcess(
  args: readonly string[],
  opts: { inject?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {},
): Promise<SpawnResult> {
  const node = [
    '--import',
    pathToFileURL(createRequire(path.join(CLI_DIR, 'package.json')).resolve('tsx')).href,
    '--conditions=source',
    ...(opts.inject ? ['--import', path.join(CLI_DIR, 'test', 'inject.ts')] : []),
    path.join(CLI_DIR, 'src', 'main.ts'),
    ...args,
  ];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, node, {
      cwd: opts.cwd ?? CLI_DIR,
      env: { ...process.env, ...opts.env, ...(opts.inject ? { SEA_TEST_INJECT: opts.inject } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      const end = Date.now();
      clearTimeout(timer);
      const m = /sea-inject: thrown at (\d+)/.exec(stderr);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        ms: end - t0,
        hung,
        exitAfterThrowMs: m ? end - Number(m[1]) : undefined,
      });
    });
  });
}

/** The one line a failed command prints, or a reason why its stderr is not that. */
export function cleanErrorProblem(r: {
  code: number | null;
  stderr: string;
  hung: boolean;
}): string | undefined {
  if (r.hung) return 'hung';
  if (r.code !== 1) return `exit code ${r.code}`;
  const lines = r.stderr
    .split('\n')
    .map((l) => l.replace(/\r/g, ''))
    .filter((l) => l.trim() && !/^(eval|glue|distill) .*\[/.test(l) && !l.startsWith('sea-inject:'));
  const last = lines.at(-1) ?? '';
  if (!last.startsWith('sea: ')) return `last stderr line is not a 'sea:' message: ${JSON.stringify(last)}`;
  if (/internal error/.test(last)) return `internal error: ${last}`;
  if (lines.some((l) => /^\s+at .+[:(]/.test(l))) return 'stack trace printed';
  if (lines.filter((l) => l.startsWith('sea: ')).length !== 1) return 'more than one sea: line';
  return undefined;
}

/** Every number in a JSON value (deep), as found. */
export function numbersIn(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) for (const x of v) numbersIn(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) numbersIn(x, out);
  return out;
}

/** Why a successful command's output is not finite, or undefined. */
export function nonFiniteOutput(stdout: string): string | undefined {
  if (/\b(NaN|-?Infinity)\b/.test(stdout)) return `output mentions NaN/Infinity: ${stdout.slice(0, 200)}`;
  const t = stdout.trim();
  if (t.startsWith('{')) {
    // JSON.stringify writes NaN and ±Infinity as null: a null where a metric belongs is one
    const j = JSON.parse(t) as Record<string, unknown>;
    for (const k of ['perplexity', 'meanLoss', 'accuracy', 'f1'])
      if (k in j && j[k] !== undefined && (typeof j[k] !== 'number' || !Number.isFinite(j[k] as number)))
        return `${k} is ${String(j[k])}`;
    if (numbersIn(j).some((x) => !Number.isFinite(x))) return 'a number in the output is not finite';
  }
  return undefined;
}

export interface Fixtures {
  root: string;
  opt: string;
  bert: string;
  optNaN: string;
  bertNaN: string;
  text: string;
  ids: string;
}

/** Copies a model folder and sets value 0 of tensor `name` (of its model.safetensors) to `value`. */
export async function poisonedCopy(src: string, dst: string, name: string, value: number): Promise<string> {
  fs.cpSync(src, dst, { recursive: true });
  const file = path.join(dst, 'model.safetensors');
  const ck = await openCheckpoint(file);
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (const n of ck.names()) {
    const raw = await ck.readTensor(n);
    const data = (await raw.data()) as Float32Array;
    tensors[n] = { dtype: 'float32', shape: [...raw.shape], data };
    raw.dispose();
  }
  await ck.close();
  if (!tensors[name]) throw new Error(`no tensor ${name}`);
  tensors[name].data[0] = value;
  await writeSafetensors(file, tensors);
  return dst;
}

/** Small random OPT and BERT folders, NaN copies of both, a text file and a token-id file. */
export async function makeFixtures(root: string): Promise<Fixtures> {
  fs.mkdirSync(root, { recursive: true });
  const opt = path.join(root, 'opt');
  const bert = path.join(root, 'bert');
  await writeRandomOpt(opt, { hidden: 16, layers: 2, heads: 2, maxPositions: 64, seed: 1 });
  await writeRandomBert(bert, { hidden: 16, layers: 2, heads: 2, maxPositions: 24, seed: 2 });
  const optNaN = await poisonedCopy(
    opt,
    path.join(root, 'opt-nan'),
    'model.decoder.layers.1.fc2.weight',
    Number.NaN,
  );
  const bertNaN = await poisonedCopy(
    bert,
    path.join(root, 'bert-nan'),
    'bert.encoder.layer.0.output.dense.weight',
    Number.NaN,
  );
  const text = path.join(root, 'text.txt');
  fs.writeFileSync(
    text,
    'The tower is 324 metres tall, about the same height as an 81-storey building, and the tallest structure in Paris. ' +
      'Its base is square, measuring 125 metres on each side. During its construction it surpassed the Washington Monument.\n',
  );
  const ids = path.join(root, 'ids.json');
  fs.writeFileSync(ids, JSON.stringify(Array.from({ length: 400 }, (_, i) => (i * 7919 + 13) % 50000)));
  return { root, opt, bert, optNaN, bertNaN, text, ids };
}

/**
 * `sea distill` at the smallest settings that still train (windows of 8 tokens, k 2, K 4, one
 * evaluation window, the CPU backend); `more` adds options such as `--steps` or `--save-every`.
 */
export function tinyDistillArgs(teacher: string, data: string, out: string, ...more: string[]): string[] {
  return [
    'distill',
    '--teacher',
    teacher,
    '--data',
    data,
    '--seq-len',
    '8',
    '--k',
    '2',
    '--predictor-length',
    '4',
    '--eval-windows',
    '1',
    '--out',
    out,
    '--backend',
    'cpu',
    ...more,
  ];
}

/**
 * The fixtures of one test file: `root` (a fresh temporary folder named `prefix…`) at once, the rest
 * made before the file's tests on the CPU backend; afterwards the folder is removed and every
 * backend the commands made (`--backend auto`) released.
 */
export function useFixtures(prefix: string): Fixtures {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const fx = { root } as Fixtures;
  beforeAll(async () => {
    await setBackend('cpu');
    Object.assign(fx, await makeFixtures(root));
  }, 120_000);
  afterAll(async () => {
    fs.rmSync(root, { recursive: true, force: true });
    await releaseBackends();
  });
  return fx;
}
