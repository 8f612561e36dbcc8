// Checkpoints survive a crash at any point of a save: the step folder is written under a temporary
// name, renamed to a fresh versioned name, latest.json replaced last and old versions removed only
// then; reading falls back to the newest complete step; killed runs' temporary folders are removed;
// nothing non-finite is written, and a non-finite training step changes nothing.
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NonFiniteError } from '@sea/model-common';
import { OptForCausalLM } from '@sea/opt';
import * as sea from '@sea/tensor';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Distiller, findCheckpoint, loadCheckpoint, removeStaleTemps, saveCheckpoint } from './index.js';
import { backend } from './test/gradcheck.js';
import { randomOptWeights, type TinyShape, tinyConfig } from './test/tiny.js';

const root = fsSync.mkdtempSync(path.join(os.tmpdir(), 'sea-ckpt-'));
afterAll(() => fsSync.rmSync(root, { recursive: true, force: true }));

const contents = (step: number, value = step) => ({
  step,
  model: { w: sea.tensor(new Float32Array([value, value + 0.5]), [2], { backend }) },
  sea: { s: sea.tensor(new Float32Array([value * 2]), [1], { backend }) },
  optimizer: { m: sea.tensor(new Float32Array([0.25]), [1], { backend }) },
  state: { options: { seed: 1 } },
});
const latest = async (dir: string) => JSON.parse(await fs.readFile(path.join(dir, 'latest.json'), 'utf8'));
const values = async (t: sea.Tensor) => Array.from(await t.data());

describe('checkpoint writing and reading', () => {
  it('re-saving a step writes a fresh folder; the old one goes only after latest.json names the new one', async () => {
    const dir = path.join(root, 'resave');
    await saveCheckpoint(dir, contents(1));
    await saveCheckpoint(dir, contents(2));
    expect((await latest(dir)).dir).toBe('step-0000002.v1');
    // watch every removal during the second save of step 2: latest.json must already name a folder
    // other than the one removed, and that folder must be complete
    const seen: string[] = [];
    const realRm = fs.rm.bind(fs);
    const rm = vi.spyOn(fs, 'rm').mockImplementation(async (p, o) => {
      const name = path.basename(String(p));
      if (name.startsWith('step-')) {
        const l = await latest(dir);
        seen.push(`${name} removed while latest.json names ${l.dir}`);
        expect(l.dir).not.toBe(name);
        expect(fsSync.existsSync(path.join(dir, l.dir, 'trainer.json'))).toBe(true);
      }
      return realRm(p, o);
    });
    await saveCheckpoint(dir, contents(2, 20));
    rm.mockRestore();
    expect(seen).toEqual(['step-0000002.v1 removed while latest.json names step-0000002.v2']);
    expect((await fs.readdir(dir)).sort()).toEqual(['latest.json', 'step-0000001.v1', 'step-0000002.v2']);
    const c = await loadCheckpoint(dir, backend);
    expect(c.step).toBe(2);
    expect(await values(c.model.w)).toEqual([20, 20.5]);
  });

  it('a latest.json naming a missing folder (a crash of the old writer) falls back to the newest complete step', async () => {
    const dir = path.join(root, 'torn');
    await saveCheckpoint(dir, contents(1));
    await saveCheckpoint(dir, contents(2));
    // the state an interrupted "remove, then rename" left: step 2's folder gone, its copy in a temp folder
    await fs.rename(path.join(dir, 'step-0000002.v1'), path.join(dir, '.step-0000002.999999.tmp'));
    await fs.writeFile(path.join(dir, 'latest.json'), JSON.stringify({ step: 2, dir: 'step-0000002' }));
    expect(await findCheckpoint(dir)).toBe(path.join(dir, 'step-0000001.v1'));
    const c = await loadCheckpoint(dir, backend);
    expect(c.step).toBe(1);
    expect(await values(c.model.w)).toEqual([1, 1.5]);
    // an incomplete newer folder is skipped too
    await fs.mkdir(path.join(dir, 'step-0000003.v1'));
    await fs.writeFile(path.join(dir, 'step-0000003.v1', 'trainer.json'), '{"step": 3}');
    expect((await loadCheckpoint(dir, backend)).step).toBe(1);
    // the dead run's temporary folder is removed; one of a live process is kept
    const live = `.step-0000004.${process.pid}.tmp`;
    await fs.mkdir(path.join(dir, live));
    expect(await removeStaleTemps(dir)).toEqual(['.step-0000002.999999.tmp']);
    expect(fsSync.existsSync(path.join(dir, live))).toBe(true);
  });

  it('no checkpoint at all is a TrainError naming the folder', async () => {
    const dir = path.join(root, 'empty');
    await fs.mkdir(dir);
    await expect(loadCheckpoint(dir, backend)).rejects.toThrow(/no checkpoint in .*empty/);
  });

  it('a tensor holding NaN is refused and nothing is written', async () => {
    const dir = path.join(root, 'nan');
    const c = contents(5);
    c.sea.s = sea.tensor(new Float32Array([Number.NaN]), [1], { backend });
    await expect(saveCheckpoint(dir, c)).rejects.toThrow(
      /step 5: refusing to save the sea weights: 1 tensor\(s\) hold non-finite values: 's' \(1 NaN/,
    );
    expect(fsSync.existsSync(dir) ? await fs.readdir(dir) : []).toEqual([]);
  });
});

describe('the non-finite guard of a training step', () => {
  const cfg: TinyShape = { vocabSize: 64, hidden: 32, layers: 2, heads: 2, ffn: 64, maxPositions: 64 };

  it('a NaN teacher stops step 1 with a NonFiniteError and leaves the parameters as they were', async () => {
    const weights = randomOptWeights(cfg, 4);
    const name = 'model.decoder.layers.1.fc2.weight';
    const clean = weights.get(name) as sea.Tensor;
    const poisoned = new Float32Array(await clean.data());
    poisoned[3] = Number.NaN;
    weights.set(name, sea.tensor(poisoned, clean.shape, { backend }).keep());
    clean.dispose();
    const teacher = await OptForCausalLM.fromWeights(tinyConfig(cfg), weights);
    const data = Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 23);
    const d = await Distiller.create(teacher, data, {
      seqLen: 16,
      k: 4,
      predictorLength: 8,
      lr: 1e-3,
      seed: 1,
    });
    const before = await values(d.params['model.decoder.layers.0.fc1.weight']);
    const live = backend.memory().buffers;
    const err = await d.trainStep().catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.message).toMatch(/^step 1: the loss is NaN \(.*\); nothing was updated/);
    expect(d.step).toBe(0);
    expect(await values(d.params['model.decoder.layers.0.fc1.weight'])).toEqual(before);
    expect(backend.memory().buffers).toBe(live);
    d.dispose();
    teacher.dispose();
  });
});
