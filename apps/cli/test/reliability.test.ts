/**
 * Bad input never hangs the command, never passes NaN on, never strands a checkpoint: each case
 * below once hung, printed a stack, accepted a broken file or reported a NaN model's numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BertForSequenceClassification } from '@sea/bert';
import { checkedForward, ModelInputError, NonFiniteError } from '@sea/model-common';
import { OptForCausalLM } from '@sea/opt';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { describe, expect, it } from 'vitest';
import {
  cleanErrorProblem,
  nonFiniteOutput,
  runInProcess,
  runProcess,
  tinyDistillArgs,
  useFixtures,
} from './harness.js';

const fx = useFixtures('sea-cli-rel-');
const root = fx.root;

const file = (name: string, text: string) => {
  const f = path.join(root, name);
  fs.writeFileSync(f, text);
  return f;
};

/** A copy of the OPT folder with config.json edited. */
function optWithConfig(name: string, edit: (c: Record<string, unknown>) => undefined | string): string {
  const dir = path.join(root, name);
  fs.cpSync(fx.opt, dir, { recursive: true });
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const text = edit(c);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof text === 'string' ? text : JSON.stringify(c));
  return dir;
}

async function expectClean(args: string[], re: RegExp) {
  const r = await runInProcess(args);
  expect(cleanErrorProblem(r), r.stderr).toBeUndefined();
  expect(r.stderr).toMatch(re);
  expect(r.barsLeft).toBe(0);
  return r;
}

const evalArgs = (model: string, ...more: string[]) => [
  'eval',
  '--model',
  model,
  '--data',
  fx.text,
  '--window',
  '16',
  '--backend',
  'cpu',
  ...more,
];

describe('1. an error inside the eval or glue loop ends the process (text mode, progress bar on)', () => {
  it('eval of a model with a NaN weight exits 1 within the limit, with one line', async () => {
    const r = await runProcess(evalArgs(fx.optNaN), { timeoutMs: 90_000 });
    expect(r.hung, r.stderr).toBe(false);
    expect(cleanErrorProblem(r), r.stderr).toBeUndefined();
    expect(r.stderr).toMatch(/sea: the model's logits hold .*NaN.*layer 1 \(of 2\)/);
  }, 120_000);

  it('glue with --max-length above max_position_embeddings truncates to the model and succeeds', async () => {
    const r = await runProcess(
      ['glue', '--model', fx.bert, '--max-length', '64', '--limit', '6', '--batch', '3', '--backend', 'cpu'],
      { timeoutMs: 90_000 },
    );
    expect(r.hung, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/accuracy\s+\d+\.\d+%/);
    expect(nonFiniteOutput(r.stdout)).toBeUndefined();
  }, 120_000);

  it('in-process, no progress bar is left running after an error', async () => {
    await expectClean(evalArgs(fx.optNaN), /layer 1/);
    await expectClean(
      ['glue', '--model', fx.bertNaN, '--limit', '4', '--backend', 'cpu'],
      /layer 0 \(of 2\)/,
    );
  });
});

describe('2. NaN is never passed on', () => {
  it('a forward through the guard names the layer and the weight; the plain forward is the raw op', async () => {
    const m = await OptForCausalLM.load(fx.optNaN, {});
    const err = await checkedForward(m, [2, 100, 200, 300]).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.message).toMatch(
      /first non-finite output at layer 1 \(of 2\); weights holding non-finite values: 'model\.decoder\.layers\.1\.fc2\.weight' \(1 NaN of 1024 values/,
    );
    m.dispose();
  });

  it('eval --json, glue --json: exit 1 instead of perplexity Infinity or an accuracy', async () => {
    const e = await expectClean(evalArgs(fx.optNaN, '--json'), /NaN/);
    expect(e.stdout).toBe('');
    const g = await expectClean(
      ['glue', '--model', fx.bertNaN, '--limit', '4', '--backend', 'cpu', '--json'],
      /NaN/,
    );
    expect(g.stdout).toBe('');
  });

  it('distill with a NaN teacher exits 1 and writes no checkpoint and no model', async () => {
    const out = path.join(root, 'distill-nan');
    await expectClean(
      [
        'distill',
        '--teacher',
        fx.optNaN,
        '--data',
        fx.ids,
        '--steps',
        '2',
        '--seq-len',
        '8',
        '--k',
        '2',
        '--out',
        out,
      ],
      /the teacher: 1 tensor\(s\) hold non-finite values: 'model\.decoder\.layers\.1\.fc2\.weight'/,
    ).then(() => undefined);
    expect(fs.existsSync(path.join(out, 'latest.json'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'model'))).toBe(false);
  });
});

describe('3. weights in a non-float dtype are refused', () => {
  it('a float weight stored as I32 is named with its dtype', async () => {
    const dir = path.join(root, 'opt-i32');
    fs.cpSync(fx.opt, dir, { recursive: true });
    const f = path.join(dir, 'model.safetensors');
    const ck = await openCheckpoint(f);
    const tensors: Record<string, unknown> = {};
    for (const n of ck.names()) {
      const t = await ck.readTensor(n);
      const data = (await t.data()) as Float32Array;
      tensors[n] =
        n === 'model.decoder.layers.0.fc1.weight'
          ? { dtype: 'int32', shape: [...t.shape], data: Int32Array.from(data, (v) => Math.round(v * 1e9)) }
          : { dtype: 'float32', shape: [...t.shape], data };
      t.dispose();
    }
    await ck.close();
    await writeSafetensors(f, tensors as Parameters<typeof writeSafetensors>[1]);
    await expectClean(
      evalArgs(dir),
      /'model\.decoder\.layers\.0\.fc1\.weight' is stored as I32, expected a float dtype/,
    );
  });
});

describe('4. ids are refused, never coerced', () => {
  it('OPT input ids and BERT token type ids name the value as given', async () => {
    const opt = await OptForCausalLM.load(fx.opt, {});
    for (const [ids, re] of [
      [[2, Number.NaN], /value NaN at \[0,1\] is NaN/],
      [[2, 1.5], /value 1\.5 at \[0,1\] is not an integer/],
      [[2 ** 32 + 5], /value 4294967301 at \[0,0\]/],
      [[1e10], /value 10000000000 at \[0,0\]/],
    ] as const) {
      await expect(opt.forward(ids as unknown as number[])).rejects.toThrow(re);
    }
    opt.dispose();
    const bert = await BertForSequenceClassification.load(fx.bert, {});
    const err = await bert.forward([101, 2000, 102], { tokenTypeIds: [0, 0.5, 1] }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelInputError);
    expect(err.message).toMatch(/tokenTypeIds value 0\.5 at \[0,1\] is not an integer/);
    const big = await bert.forward([101, 2000, 102], { tokenTypeIds: [0, 2 ** 32, 0] }).catch((e) => e);
    expect(big.message).toMatch(/tokenTypeIds value 4294967296/);
    bert.dispose();
  });
});

describe('5. checkpoints: loss.jsonl after a resume, stale temporary folders', () => {
  const distill = (out: string, ...more: string[]) => tinyDistillArgs(fx.opt, fx.ids, out, ...more);

  it('a resumed run logs each step once; temporary folders of dead runs are removed at start', async () => {
    const out = path.join(root, 'distill-resume');
    const first = await runInProcess(distill(out, '--steps', '3', '--save-every', '2'), 120_000);
    expect(first.code, first.stderr).toBe(0);
    // as if killed after step 3 was logged but before its checkpoint: latest.json names step 2
    const step3 = fs.readdirSync(out).find((n) => n.startsWith('step-0000003')) as string;
    const step2 = fs.readdirSync(out).find((n) => n.startsWith('step-0000002')) as string;
    fs.rmSync(path.join(out, step3), { recursive: true });
    fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ step: 2, dir: step2 }));
    fs.mkdirSync(path.join(out, '.step-0000003.999999.tmp'));
    fs.mkdirSync(path.join(out, '.model.999999.tmp'));
    fs.writeFileSync(path.join(out, '.model.999999.tmp', 'model.safetensors'), 'x'.repeat(1000));
    const second = await runInProcess(distill(out, '--steps', '4', '--resume'), 120_000);
    expect(second.code, second.stderr).toBe(0);
    const steps = fs
      .readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.eval === undefined)
      .map((l) => l.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(fs.readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 240_000);
});

describe('6. user errors are one line, never a stack', () => {
  it('eval --window above the position table, empty and blank text', async () => {
    await expectClean(
      evalArgs(fx.opt).map((a) => (a === '16' ? '9999' : a)),
      /--window 9999 exceeds the model's max_position_embeddings 64/,
    );
    await expectClean(
      ['eval', '--model', fx.opt, '--data', file('empty.txt', ''), '--backend', 'cpu'],
      /is empty or blank/,
    );
    await expectClean(
      [
        'eval',
        '--model',
        fx.opt,
        '--data',
        file('blank.txt', '   \n\n '),
        '--window',
        '4',
        '--backend',
        'cpu',
      ],
      /blank\.txt is empty or blank/,
    );
  });

  it('attention-map text longer than the model allows', async () => {
    await expectClean(
      [
        'attention-map',
        '--model',
        fx.opt,
        '--text',
        'word '.repeat(100),
        '--out',
        path.join(root, 'am'),
        '--backend',
        'cpu',
      ],
      /--text makes 10\d tokens but the model takes at most 64/,
    );
  });

  it('malformed config.json in distill and attention-map', async () => {
    const bad = optWithConfig('opt-badjson', () => '{"model_type": "opt", ');
    await expectClean(
      ['distill', '--teacher', bad, '--data', fx.ids, '--out', path.join(root, 'd1')],
      /config\.json is not valid JSON/,
    );
    await expectClean(
      ['attention-map', '--model', bad, '--text', 'hi there', '--out', path.join(root, 'am1')],
      /config\.json is not valid JSON/,
    );
  });

  it('a malformed ids file; negative or fractional ids are refused, not read as text', async () => {
    const run = (data: string) => [
      'distill',
      '--teacher',
      fx.opt,
      '--data',
      data,
      '--out',
      path.join(root, 'd2'),
      '--steps',
      '1',
      '--seq-len',
      '8',
    ];
    await expectClean(run(file('torn.json', '[1, 2, 3,')), /torn\.json: not a valid JSON array of token ids/);
    await expectClean(
      run(file('neg.txt', '5 17 -3 8')),
      /neg\.txt: token '-3' at position 2 is not a token id/,
    );
    await expectClean(
      run(file('frac.txt', '5, 17, 2.5')),
      /frac\.txt: token '2\.5' at position 2 is not a token id/,
    );
    await expectClean(run(file('fracjson.json', '[5, 1.5]')), /token 1\.5 at position 1 is not a token id/);
  });
});

describe('7. config and weights must agree', () => {
  it('3 layers in config.json over 2-layer weights: attention-map and eval list the missing tensors', async () => {
    const three = optWithConfig('opt-3layers', (c) => {
      c.num_hidden_layers = 3;
      return undefined;
    });
    await expectClean(
      [
        'attention-map',
        '--model',
        three,
        '--text',
        'hi there',
        '--out',
        path.join(root, 'am3'),
        '--backend',
        'cpu',
      ],
      /does not match config\.json: missing \d+ tensor\(s\): 'model\.decoder\.layers\.2\./,
    );
    await expectClean(evalArgs(three), /missing \d+ tensor\(s\): 'model\.decoder\.layers\.2\./);
  });

  it('1 layer in config.json over 2-layer weights: the unexpected layer-1 tensors are named', async () => {
    const one = optWithConfig('opt-1layer', (c) => {
      c.num_hidden_layers = 1;
      return undefined;
    });
    await expectClean(
      evalArgs(one),
      /unexpected tensor\(s\) not in the config's layout: 'model\.decoder\.layers\.1\./,
    );
    await expectClean(
      [
        'attention-map',
        '--model',
        one,
        '--text',
        'hi there',
        '--out',
        path.join(root, 'am4'),
        '--backend',
        'cpu',
      ],
      /unexpected tensor\(s\).*'model\.decoder\.layers\.1\./,
    );
  });
});

describe('8. a tensor name with a NUL byte', () => {
  it('is refused with the byte escaped, on one line', async () => {
    const dir = path.join(root, 'opt-nul');
    fs.cpSync(fx.opt, dir, { recursive: true });
    const bytes = fs.readFileSync(path.join(dir, 'model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes
      .subarray(8, 8 + n)
      .toString('utf8')
      .replace('"model.decoder.final_layer_norm.bias"', '"model.decoder.final_layer_norm.b\\u0000s"');
    const h = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([len, h, bytes.subarray(8 + n)]));
    const r = await expectClean(evalArgs(dir), /tensor name holds control character \\x00/);
    expect(r.stderr).toContain('final_layer_norm.b\\x00s');
    expect(r.stderr).not.toContain('\u0000');
  });
});
