/**
 * randomWeights: every spec filled by its init, the normal values drawn in spec order from
 * Rng(seed) (so a standard-deviation override scales the same draws exactly), deterministic;
 * detectPrefix names what a checkpoint lacks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@sea/backend-cpu';
import { Rng, useBackend } from '@sea/tensor';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';
import { detectPrefix, ModelLoadError, randomWeights, uploadWeights, type WeightSpec } from '../src/index.js';

const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-random-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const specs: WeightSpec[] = [
  { name: 'emb.weight', shape: [50, 8], why: 'vocab, hidden' },
  { name: 'ln.weight', shape: [8], why: 'hidden', init: 'ones' },
  { name: 'ln.bias', shape: [8], why: 'hidden', init: 'zeros', optional: true },
  { name: 'fc.weight', shape: [16, 8], why: 'ffn, hidden' },
  { name: 'fc.bias', shape: [16], why: 'ffn', init: 'zeros' },
];

describe('randomWeights', () => {
  it('fills each spec by its init, the normals from Rng(seed) in spec order, optional specs included', () => {
    const w = randomWeights(specs, 5);
    expect(Object.keys(w)).toEqual(specs.map((s) => s.name));
    const rng = new Rng(5);
    const emb = rng.fillNormal(new Float32Array(400), 0, 0.02) as Float32Array;
    const fc = rng.fillNormal(new Float32Array(128), 0, 0.02) as Float32Array;
    expect(w['emb.weight'].data).toEqual(emb);
    expect(w['fc.weight'].data).toEqual(fc);
    expect([...w['ln.weight'].data]).toEqual(new Array(8).fill(1));
    expect([...w['ln.bias'].data]).toEqual(new Array(8).fill(0));
    expect([...w['fc.bias'].data]).toEqual(new Array(16).fill(0));
    expect(w['fc.weight'].shape).toEqual([16, 8]);
    // HF's normal(0, 0.02): the sample's standard deviation is near it
    const sd = Math.sqrt(emb.reduce((a, x) => a + x * x, 0) / emb.length);
    expect(Math.abs(sd - 0.02)).toBeLessThan(0.003);
    expect(randomWeights(specs, 5)['fc.weight'].data).toEqual(fc);
    expect(randomWeights(specs, 6)['fc.weight'].data).not.toEqual(fc);
  });

  it('a standard-deviation override scales the same draws, the others unchanged', () => {
    const base = randomWeights(specs, 9);
    const peaked = randomWeights(specs, 9, { std: { 'emb.weight': 0.6 } });
    const e = base['emb.weight'].data;
    peaked['emb.weight'].data.forEach((v, i) => {
      expect(v).toBeCloseTo(e[i] * 30, 5);
    });
    expect(peaked['fc.weight'].data).toEqual(base['fc.weight'].data);
  });

  it('one standard deviation for every normal tensor; jitter draws the zeros and ones around their values', () => {
    const w = randomWeights(specs, 3, { std: 0.3, jitter: 0.1 });
    const rng = new Rng(3);
    const expected: Record<string, Float32Array> = {
      'emb.weight': rng.fillNormal(new Float32Array(400), 0, 0.3) as Float32Array,
      'ln.weight': rng.fillNormal(new Float32Array(8), 1, 0.1) as Float32Array,
      'ln.bias': rng.fillNormal(new Float32Array(8), 0, 0.1) as Float32Array,
      'fc.weight': rng.fillNormal(new Float32Array(128), 0, 0.3) as Float32Array,
      'fc.bias': rng.fillNormal(new Float32Array(16), 0, 0.1) as Float32Array,
    };
    for (const [n, v] of Object.entries(expected)) expect(w[n].data, n).toEqual(v);
    const gains = w['ln.weight'].data;
    expect(gains.some((g) => g !== 1)).toBe(true);
    expect(Math.max(...gains.map((g) => Math.abs(g - 1)))).toBeLessThan(0.5);
  });

  it('uploadWeights gives kept tensors with the host values', async () => {
    const before = backend.memory().buffers;
    const t = uploadWeights(randomWeights(specs, 1), backend);
    expect([...t.keys()]).toEqual(specs.map((s) => s.name));
    expect(t.get('fc.weight')?.shape).toEqual([16, 8]);
    expect(await t.get('ln.weight')?.data()).toEqual(new Float32Array(8).fill(1));
    for (const x of t.values()) x.dispose();
    expect(backend.memory().buffers).toBe(before);
  });
});

describe('detectPrefix', () => {
  it('returns the first prefix whose probe tensor is there, else names every name it tried', async () => {
    const file = join(tmp, 'w.safetensors');
    await writeSafetensors(file, randomWeights(specs, 0));
    const ckpt = await openCheckpoint(file);
    const f = { architecture: 'OPT', prefixes: ['model.', ''], probe: 'decoder.embed_tokens.weight' };
    expect(() => detectPrefix(f, ckpt)).toThrow(ModelLoadError);
    expect(() => detectPrefix(f, ckpt)).toThrow(
      /has no 'model\.decoder\.embed_tokens\.weight' \(nor 'decoder\.embed_tokens\.weight'\): not an OPT checkpoint \(first tensors: emb\.weight, fc\.bias, fc\.weight\)/,
    );
    expect(detectPrefix({ ...f, prefixes: ['x.', ''], probe: 'ln.weight' }, ckpt)).toBe('');
    await ckpt.close();
  });
});
