/**
 * Generated fuzz over the `sea` command line and config.json fields: every case must end within
 * 10 s either with exit 1 and one `sea: …` line (no stack, no internal error, no progress bar left
 * running) or with exit 0 and finite output. The cases run in this process (runCli); a sample also
 * runs as real processes to show the same outcome at process level. The closing table gives the
 * counts: cases tried, clean errors, successes, hangs, silent non-finite results.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CliResult,
  cleanErrorProblem,
  nonFiniteOutput,
  runInProcess,
  runProcess,
  tinyDistillArgs,
  useFixtures,
} from './harness.js';

const SEED = Number(process.env.SEA_FUZZ_SEED ?? 20261203);
const LIMIT_MS = 10_000;

const fx = useFixtures('sea-cli-fuzz-');
const root = fx.root;

/** mulberry32: the cases are the same on every run for one seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  name: string;
  /** Built once the fixtures exist; `dir` is a fresh folder for the case's outputs. */
  args: (dir: string) => string[];
  /** Before the run: write the case's model folder (config fuzz). */
  setup?: (dir: string) => string;
}

/** Option values that are wrong for numbers, paths, or anything. */
const BAD_NUMBERS = [
  '',
  ' ',
  'abc',
  '-1',
  '0',
  '1.5',
  '1e3',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '2147483648',
  '99999999999999999999',
  '１２',
  '\u0000',
  '-0',
  '+3',
  '7 ',
];
/** Paths read from (never written): missing, not a file, not a folder, odd bytes. */
const BAD_PATHS = ['', '/nonexistent/sea', '/dev/null', '.', '..', 'a\u0000b', '\u001b[2J', 'x'.repeat(300)];
/** Paths written to: relative ones land in the case's own folder (the current directory of the run). */
const BAD_OUT_PATHS = [
  '',
  '.',
  'a-file',
  'a-file/below',
  '/dev/null',
  'a\u0000b',
  'new/deep/folder',
  'x'.repeat(300),
];
const WRITTEN = new Set(['--out', '--log']);
const SMALL_BAD = ['', 'abc', '-1', '0', '1.5', 'NaN', '-0'];

/** Each command's base arguments (valid, small) and which options take what. */
function bases(): Record<
  string,
  { args: (d: string) => string[]; numbers: string[]; paths: string[]; small?: string[] }
> {
  return {
    eval: {
      args: () => [
        'eval',
        '--model',
        fx.opt,
        '--data',
        fx.text,
        '--window',
        '16',
        '--max-windows',
        '2',
        '--backend',
        'cpu',
        '--json',
      ],
      numbers: ['--window', '--max-windows', '--k', '--predictor-length', '--nbf', '--seed'],
      paths: ['--model', '--data', '--sea-weights'],
    },
    'eval-sea': {
      args: () => [
        'eval',
        '--model',
        fx.opt,
        '--data',
        fx.text,
        '--window',
        '16',
        '--max-windows',
        '1',
        '--attention',
        'sea',
        '--k',
        '2',
        '--predictor-length',
        '4',
        '--backend',
        'cpu',
        '--json',
      ],
      numbers: ['--k', '--predictor-length', '--nbf', '--window'],
      paths: ['--sea-weights'],
    },
    glue: {
      args: () => [
        'glue',
        '--model',
        fx.bert,
        '--limit',
        '4',
        '--batch',
        '2',
        '--max-length',
        '16',
        '--backend',
        'cpu',
        '--json',
      ],
      numbers: ['--limit', '--batch', '--max-length', '--k', '--predictor-length', '--nbf', '--seed'],
      paths: ['--model', '--sea-weights'],
    },
    'attention-map': {
      args: (d) => [
        'attention-map',
        '--model',
        fx.opt,
        '--text',
        'The tower is tall.',
        '--out',
        d,
        '--k',
        '2',
        '--predictor-length',
        '4',
        '--backend',
        'cpu',
        '--json',
      ],
      numbers: ['--layer', '--head', '--k', '--predictor-length', '--nbf', '--seed'],
      paths: ['--model', '--out', '--sea-weights'],
    },
    distill: {
      args: (d) => tinyDistillArgs(fx.opt, fx.ids, d, '--steps', '1'),
      numbers: [
        '--seq-len',
        '--batch',
        '--k',
        '--predictor-length',
        '--nbf',
        '--lr',
        '--seed',
        '--eval-every',
        '--eval-windows',
        '--save-every',
      ],
      paths: ['--teacher', '--data', '--out', '--log'],
      // --steps stays small: a valid huge value is a long run, not a fault
      small: ['--steps'],
    },
    'make-model': {
      args: (d) => [
        'make-model',
        '--out',
        path.join(d, 'm'),
        '--hidden',
        '8',
        '--layers',
        '1',
        '--heads',
        '2',
        '--max-positions',
        '16',
      ],
      numbers: ['--hidden', '--layers', '--heads', '--max-positions', '--seed'],
      paths: ['--out'],
    },
    tokenize: {
      args: (d) => ['tokenize', fx.text, '--out', path.join(d, 'ids.json')],
      numbers: [],
      paths: ['--out'],
    },
  };
}

function setOption(args: string[], flag: string, value: string | undefined): string[] {
  const i = args.indexOf(flag);
  if (value === undefined) return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
  return i < 0 ? [...args, flag, value] : [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

function argumentCases(r: () => number): Case[] {
  const out: Case[] = [];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  for (const [cmd, b] of Object.entries(bases())) {
    // every numeric option gets three bad values, every path option two, each removed once
    for (const flag of b.numbers)
      for (let n = 0; n < 3; n++) {
        const v = pick(BAD_NUMBERS);
        out.push({ name: `${cmd} ${flag} ${JSON.stringify(v)}`, args: (d) => setOption(b.args(d), flag, v) });
      }
    for (const flag of b.small ?? [])
      for (let n = 0; n < 2; n++) {
        const v = pick(SMALL_BAD);
        out.push({ name: `${cmd} ${flag} ${JSON.stringify(v)}`, args: (d) => setOption(b.args(d), flag, v) });
      }
    for (const flag of b.paths)
      for (let n = 0; n < 2; n++) {
        const v = pick(WRITTEN.has(flag) ? BAD_OUT_PATHS : BAD_PATHS);
        out.push({
          name: `${cmd} ${flag} ${JSON.stringify(v.slice(0, 20))}`,
          args: (d) => setOption(b.args(d), flag, v),
        });
      }
    // (eval without --data evaluates all of WikiText-2: a long run, not a fault)
    for (const flag of [...b.paths, ...b.numbers]
      .filter((f) => !(cmd === 'eval' && f === '--data'))
      .slice(0, 3))
      out.push({ name: `${cmd} without ${flag}`, args: (d) => setOption(b.args(d), flag, undefined) });
    out.push({ name: `${cmd} --no-such-flag`, args: (d) => [...b.args(d), '--no-such-flag'] });
    out.push({ name: `${cmd} stray argument`, args: (d) => [...b.args(d), 'stray'] });
    out.push({ name: `${cmd} --backend nope`, args: (d) => setOption(b.args(d), '--backend', 'nope') });
    out.push({
      name: `${cmd} flag without value`,
      args: (d) => [...b.args(d), pick([...b.numbers, ...b.paths, '--json'])],
    });
  }
  out.push({ name: 'no command', args: () => [] });
  out.push({ name: 'unknown command', args: () => ['evaluate'] });
  out.push({
    name: 'eval --attention bogus',
    args: () => ['eval', '--model', fx.opt, '--attention', 'bogus'],
  });
  out.push({ name: 'eval --protocol bogus', args: () => ['eval', '--model', fx.opt, '--protocol', 'x'] });
  out.push({
    name: 'eval --sea-path bogus',
    args: () => [
      'eval',
      '--model',
      fx.opt,
      '--data',
      fx.text,
      '--window',
      '8',
      '--attention',
      'sea',
      '--sea-path',
      'x',
      '--backend',
      'cpu',
    ],
  });
  out.push({ name: 'glue --task bogus', args: () => ['glue', '--model', fx.bert, '--task', 'cola'] });
  out.push({
    name: 'glue on an OPT folder',
    args: () => ['glue', '--model', fx.opt, '--limit', '2', '--backend', 'cpu'],
  });
  out.push({
    name: 'eval on a BERT folder',
    args: () => ['eval', '--model', fx.bert, '--data', fx.text, '--window', '8', '--backend', 'cpu'],
  });
  out.push({
    name: 'distill --attention dense',
    args: (d) => ['distill', '--teacher', fx.opt, '--data', fx.ids, '--attention', 'dense', '--out', d],
  });
  out.push({
    name: 'distill --export-dtype int8',
    args: (d) => ['distill', '--teacher', fx.opt, '--data', fx.ids, '--export-dtype', 'int8', '--out', d],
  });
  out.push({
    name: 'distill BERT --task bogus',
    args: (d) => ['distill', '--teacher', fx.bert, '--task', 'cola', '--out', d],
  });
  out.push({ name: 'make-model --arch gpt', args: (d) => ['make-model', '--out', d, '--arch', 'gpt'] });
  out.push({
    name: 'make-model --hidden 65536',
    args: (d) => ['make-model', '--out', d, '--hidden', '65536', '--heads', '1'],
  });
  out.push({
    name: 'tokenize missing file',
    args: (d) => ['tokenize', '/nonexistent.txt', '--out', path.join(d, 'x.json')],
  });
  out.push({
    name: 'attention-map empty --text',
    args: (d) => ['attention-map', '--model', fx.opt, '--text', '', '--out', d],
  });
  out.push({
    name: 'attention-map --layer 5',
    args: (d) => [
      'attention-map',
      '--model',
      fx.opt,
      '--text',
      'hi',
      '--layer',
      '5',
      '--out',
      d,
      '--backend',
      'cpu',
    ],
  });
  out.push({
    name: 'attention-map --head 9',
    args: (d) => [
      'attention-map',
      '--model',
      fx.opt,
      '--text',
      'hi',
      '--head',
      '9',
      '--out',
      d,
      '--backend',
      'cpu',
    ],
  });
  out.push({
    name: 'eval --sea-weights is the model file',
    args: () => [
      'eval',
      '--model',
      fx.opt,
      '--data',
      fx.text,
      '--window',
      '8',
      '--attention',
      'sea',
      '--k',
      '2',
      '--predictor-length',
      '4',
      '--sea-weights',
      path.join(fx.opt, 'model.safetensors'),
      '--backend',
      'cpu',
    ],
  });
  return out;
}

/** Values a config.json field is set to (undefined: the field is removed). */
const FIELD_VALUES: unknown[] = [undefined, null, -1, 0, 1.5, 'x', true, 1e9, [], {}, 3];

const OPT_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'ffn_dim',
  'max_position_embeddings',
  'word_embed_proj_dim',
  'do_layer_norm_before',
  'activation_function',
  'enable_bias',
  'layer_norm_elementwise_affine',
  'model_type',
  'sea',
];
const BERT_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'hidden_act',
  'max_position_embeddings',
  'type_vocab_size',
  'layer_norm_eps',
  'num_labels',
  'model_type',
  'position_embedding_type',
];

function configCases(r: () => number): Case[] {
  const out: Case[] = [];
  const write =
    (src: () => string, edit: (c: Record<string, unknown>) => string | undefined) => (dir: string) => {
      const m = path.join(dir, 'model');
      fs.cpSync(src(), m, { recursive: true });
      const file = path.join(m, 'config.json');
      const c = JSON.parse(fs.readFileSync(file, 'utf8'));
      fs.writeFileSync(file, edit(c) ?? JSON.stringify(c));
      return m;
    };
  const setField = (field: string, v: unknown) => (c: Record<string, unknown>) => {
    if (v === undefined) delete c[field];
    else if (field === 'sea') c.sea = { attention: 'sea', k: v, predictor_length: v, nbf: v };
    else c[field] = v;
    return undefined;
  };
  const evalOn = (m: string) => [
    'eval',
    '--model',
    m,
    '--data',
    fx.text,
    '--window',
    '8',
    '--max-windows',
    '1',
    '--backend',
    'cpu',
    '--json',
  ];
  const glueOn = (m: string) => [
    'glue',
    '--model',
    m,
    '--limit',
    '2',
    '--max-length',
    '12',
    '--backend',
    'cpu',
    '--json',
  ];
  const amOn = (m: string, d: string) => [
    'attention-map',
    '--model',
    m,
    '--text',
    'hi there',
    '--out',
    path.join(d, 'am'),
    '--k',
    '2',
    '--predictor-length',
    '4',
    '--backend',
    'cpu',
    '--json',
  ];
  const distillOn = (m: string, d: string) => tinyDistillArgs(m, fx.ids, path.join(d, 'run'), '--steps', '1');
  for (const field of OPT_FIELDS) {
    for (const v of FIELD_VALUES) {
      // one command per (field, value), cycling eval / attention-map, and distill now and then
      const which = r();
      let model = '';
      out.push({
        name: `opt config ${field}=${JSON.stringify(v) ?? 'removed'} (${which < 0.5 ? 'eval' : which < 0.9 ? 'attention-map' : 'distill'})`,
        setup: (d) => {
          model = write(() => fx.opt, setField(field, v))(d);
          return model;
        },
        args: (d) => (which < 0.5 ? evalOn(model) : which < 0.9 ? amOn(model, d) : distillOn(model, d)),
      });
    }
  }
  for (const field of BERT_FIELDS) {
    for (const v of FIELD_VALUES.filter((_, i) => i % 2 === 0 || field === 'num_labels')) {
      let model = '';
      out.push({
        name: `bert config ${field}=${JSON.stringify(v) ?? 'removed'} (glue)`,
        setup: (d) => {
          model = write(() => fx.bert, setField(field, v))(d);
          return model;
        },
        args: () => glueOn(model),
      });
    }
  }
  for (const [what, text] of [
    ['empty', ''],
    ['torn', '{"model_type": "opt", "hidden_size": 16'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"opt"'],
    ['an empty object', '{}'],
    ['a NUL', '{"model_type": "opt\u0000"}'],
  ] as const) {
    let model = '';
    out.push({
      name: `config.json ${what} (eval)`,
      setup: (d) => {
        model = write(
          () => fx.opt,
          () => text,
        )(d);
        return model;
      },
      args: () => evalOn(model),
    });
    out.push({
      name: `config.json ${what} (distill)`,
      setup: (d) => {
        model = write(
          () => fx.opt,
          () => text,
        )(d);
        return model;
      },
      args: (d) => distillOn(model, d),
    });
  }
  return out;
}

interface Outcome {
  name: string;
  result: CliResult;
  verdict: 'clean error' | 'success' | 'hang' | 'silent non-finite' | 'unclean';
  detail?: string;
}

function judge(name: string, result: CliResult): Outcome {
  if (result.hung || result.ms > LIMIT_MS)
    return { name, result, verdict: 'hang', detail: `${result.ms.toFixed(0)} ms` };
  if (result.barsLeft > 0)
    return { name, result, verdict: 'unclean', detail: 'a progress bar was left running' };
  if (result.code === 0) {
    const bad = nonFiniteOutput(result.stdout);
    return bad
      ? { name, result, verdict: 'silent non-finite', detail: bad }
      : { name, result, verdict: 'success' };
  }
  const problem = cleanErrorProblem(result);
  return problem
    ? { name, result, verdict: 'unclean', detail: `${problem}\n${result.stderr.slice(-600)}` }
    : { name, result, verdict: 'clean error' };
}

describe('fuzz: the sea command line and config.json', () => {
  const r = rng(SEED);
  const cases = [...argumentCases(r), ...configCases(r)];
  const outcomes: Outcome[] = [];

  it(`runs ${cases.length} generated cases in-process: each a one-line error or a finite success within ${LIMIT_MS / 1000} s`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
    for (const [i, c] of cases.entries()) {
      const dir = path.join(root, `case-${i}`);
      fs.mkdirSync(dir, { recursive: true });
      c.setup?.(dir);
      fs.writeFileSync(path.join(dir, 'a-file'), 'not a folder\n');
      if (process.env.SEA_FUZZ_LOG) fs.appendFileSync(process.env.SEA_FUZZ_LOG, `${i} ${c.name}\n`);
      const result = await runInProcess(c.args(dir), LIMIT_MS, dir);
      if (process.env.SEA_FUZZ_LOG)
        fs.appendFileSync(
          process.env.SEA_FUZZ_LOG,
          `   -> ${result.code} ${result.ms.toFixed(0)} ms ${result.stderr.trim().split('\n').at(-1)?.slice(0, 200)}\n`,
        );
      outcomes.push(judge(c.name, result));
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const count = (v: Outcome['verdict']) => outcomes.filter((o) => o.verdict === v).length;
    const slowest = [...outcomes].sort((a, b) => b.result.ms - a.result.ms)[0];
    console.log(
      [
        `fuzz (seed ${SEED}): ${outcomes.length} cases tried`,
        `  clean errors (exit 1, one 'sea:' line)  ${count('clean error')}`,
        `  successes with finite output            ${count('success')}`,
        `  hangs (> ${LIMIT_MS / 1000} s)                        ${count('hang')}`,
        `  silent non-finite results               ${count('silent non-finite')}`,
        `  unclean (stack, internal error, …)      ${count('unclean')}`,
        `  slowest case ${slowest.result.ms.toFixed(0)} ms: ${slowest.name}`,
      ].join('\n'),
    );
    const bad = outcomes.filter((o) => o.verdict !== 'clean error' && o.verdict !== 'success');
    expect(bad.map((o) => `${o.name}: ${o.verdict} ${o.detail ?? ''}`)).toEqual([]);
  }, 900_000);

  it('a sample of the cases gives the same outcome as a real process, which exits promptly', async () => {
    expect(outcomes.length).toBe(cases.length);
    // every 40th case, spread over the commands and config fields
    // (a process cannot be given a NUL byte in its arguments: those cases stay in-process)
    const sample = cases
      .map((c, i) => [c, i] as const)
      .filter(([c, i]) => i % 40 === 7 && !c.args(root).some((a) => a.includes('\u0000')));
    expect(sample.length).toBeGreaterThanOrEqual(5);
    for (const [c, i] of sample) {
      const dir = path.join(root, `case-${i}`); // the in-process run's folder (removed), for equal messages
      fs.mkdirSync(dir, { recursive: true });
      c.setup?.(dir);
      fs.writeFileSync(path.join(dir, 'a-file'), 'not a folder\n');
      const p = await runProcess(c.args(dir), { timeoutMs: 60_000, cwd: dir });
      const inProcess = outcomes[i];
      expect(p.hung, c.name).toBe(false);
      expect(p.code, `${c.name}: ${p.stderr}`).toBe(inProcess.result.code);
      if (p.code === 1) {
        expect(cleanErrorProblem(p), c.name).toBeUndefined();
        const line = (s: string) => s.trim().split('\n').at(-1);
        expect(line(p.stderr), c.name).toBe(line(inProcess.result.stderr));
      } else expect(nonFiniteOutput(p.stdout), c.name).toBeUndefined();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
