/**
 * `sea distill` with a BERT teacher: a tiny random BertForSequenceClassification (writeRandomBert)
 * distilled on MRPC's train file for a few steps, checkpointed, resumed, exported to <out>/model, and
 * that folder run by `sea glue` with its SEA weights (config `sea` block → flags, withModelSeaDefaults).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertForSequenceClassification } from '@sea/bert';
import { dataFile } from '@sea/data';
import { openCheckpoint } from '@sea/tensor/node';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { stdoutOf } from '../../test/stdout.js';
import { writeRandomBert } from '../make_model.js';
import { withModelSeaDefaults } from './common.js';
import { type DistillCommandOptions, distillCommand } from './distill.js';
import { type GlueFlags, glueCommand } from './glue.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-cli-distill-bert-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('sea distill --teacher <bert> --task mrpc', () => {
  it('trains, resumes, exports a model folder that sea glue runs with its SEA weights', async () => {
    const teacher = path.join(tmp, 'teacher');
    await writeRandomBert(teacher, {
      hidden: 32,
      layers: 2,
      heads: 2,
      intermediate: 64,
      maxPositions: 64,
      seed: 1,
    });
    const out = path.join(tmp, 'run');
    const flags: DistillCommandOptions = {
      teacher,
      task: 'mrpc',
      steps: 2,
      seqLen: 32,
      batch: 4,
      k: 4,
      predictorLength: 8,
      nbf: 1,
      attention: 'sea',
      lr: 1e-3,
      seed: 0,
      out,
      evalEvery: 0,
      evalWindows: 8,
      evalExamples: 16,
      saveEvery: 1,
      backend: 'cpu',
      progress: false,
    };
    const first = await stdoutOf(() => distillCommand(flags));
    expect(first).toMatch(/distilled 2 steps \(sea\).*held-out mrpc accuracy [\d.]+% F1 [\d.]+ \(teacher/);
    expect(first).toMatch(/MRPC\/train\.tsv, held out .*MRPC\/dev\.tsv/);
    // the resumed run has no terminal: it prints progress lines on stderr
    const errs: string[] = [];
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      errs.push(String(s));
      return true;
    });
    const wasTTY = process.stderr.isTTY;
    Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
    let resumed: string;
    try {
      resumed = await stdoutOf(() =>
        distillCommand({ ...flags, steps: 3, resume: true, progress: undefined }),
      );
    } finally {
      errSpy.mockRestore();
      Object.defineProperty(process.stderr, 'isTTY', { value: wasTTY, configurable: true });
    }
    expect(resumed).toMatch(/distilled 3 steps/);
    expect(errs.join('')).toMatch(/^distill 3\/3 \| \d+ tok\/s \| loss [\d.]+/m);
    // loss.svg after the resume draws the whole run: steps 1, 2 (first run) and 3
    const svg = fs.readFileSync(path.join(out, 'loss.svg'), 'utf8');
    const curve = /<path d="(M[^"]*)" fill="none" stroke="#1f77b4"/.exec(svg)?.[1] ?? '';
    expect(curve.split(/[ML]/).filter(Boolean)).toHaveLength(3);
    const log = fs
      .readFileSync(path.join(out, 'loss.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; loss?: number; eval?: { accuracy: number } });
    expect(log.filter((l) => l.loss !== undefined).map((l) => l.step)).toEqual([1, 2, 3]);
    expect(log.filter((l) => l.eval).length).toBe(2);
    expect(fs.existsSync(path.join(out, 'loss.svg'))).toBe(true);

    const model = path.join(out, 'model');
    // complete folders: config, weights and the tokenizer (make-model writes the bundled vocabulary,
    // the export copies the teacher's)
    expect(fs.readdirSync(teacher).sort()).toEqual([
      'README.md',
      'config.json',
      'model.safetensors',
      'vocab.txt',
    ]);
    expect(fs.readdirSync(model).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'sea.safetensors',
      'vocab.txt',
    ]);
    expect(fs.readFileSync(path.join(model, 'vocab.txt'), 'utf8')).toBe(
      fs.readFileSync(dataFile('bertUncasedVocab'), 'utf8'),
    );
    const cfg = JSON.parse(fs.readFileSync(path.join(model, 'config.json'), 'utf8'));
    expect(cfg.model_type).toBe('bert');
    expect(cfg.sea).toMatchObject({
      attention: 'sea',
      k: 4,
      predictor_length: 8,
      nbf: 1,
      steps: 3,
      task: 'mrpc',
      max_length: 32,
    });
    const glueFlags: GlueFlags = {
      model,
      task: 'mrpc',
      backend: 'cpu',
      attention: 'dense',
      k: 64,
      predictorLength: 128,
      nbf: 1,
      seaPath: 'sparse',
      seed: 0,
      batch: 8,
      maxLength: 32,
      limit: 16,
      json: true,
    };
    const o = withModelSeaDefaults(glueFlags, () => true);
    expect(o).toMatchObject({ attention: 'sea', k: 4, predictorLength: 8, nbf: 1 });
    expect(o.seaWeights).toBe(path.join(model, 'sea.safetensors'));
    // the exported SEA tensors are the ones BertForSequenceClassification.load({ seaWeights }) reads
    const loaded = await BertForSequenceClassification.load(model, {
      attention: 'sea',
      seaConfig: { k: 4, predictorLength: 8 },
      seaWeights: o.seaWeights,
    });
    const file = await openCheckpoint(o.seaWeights as string);
    const name = 'bert.encoder.layer.1.attention.self.sea.scaler.weight';
    const own = loaded.parameters().get(name);
    expect([...((await own?.data()) ?? [])]).toEqual([...(await (await file.readTensor(name)).data())]);
    await file.close();
    loaded.dispose();
    const r = JSON.parse(await stdoutOf(() => glueCommand(o)));
    console.log(
      `sea glue on the distilled model (sparse SEA, 16 MRPC dev examples): accuracy ${r.accuracy}, F1 ${r.f1}`,
    );
    expect(r).toMatchObject({
      attention: 'sea',
      examples: 16,
      sea: { k: 4, predictorLength: 8, weights: o.seaWeights },
    });
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
