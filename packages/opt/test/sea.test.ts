/** OPT with Performer or SEA attention end to end: shapes, finiteness, per-layer choice, SEA weights files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { createAttention } from '@sea/sparse-attention';
import { type Tensor, useBackend } from '@sea/tensor';
import { writeSafetensors } from '@sea/tensor/node';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/opt-preln');
const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-opt-sea-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// small enough for a 12-token input (the paper's K=256, k=64 are for 2048-token windows)
const seaConfig = { predictorLength: 32, k: 4, nbFeatureFactor: 1 };
const ids = [
  [2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50],
  [2, 60, 61, 62, 63, 64, 65, 66, 1, 1, 1, 1],
];
const attentionMask = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
];

async function run(model: OptForCausalLM): Promise<Float32Array> {
  const out = await model.forward(ids, { attentionMask, outputHiddenStates: true });
  expect(out.logits.shape).toEqual([2, 12, 512]);
  expect(out.hiddenStates?.map((h) => h.shape)).toEqual([
    [2, 12, 64],
    [2, 12, 64],
    [2, 12, 64],
  ]);
  const v = out.logits.dataSync() as Float32Array;
  for (const t of [out.logits, ...(out.hiddenStates ?? [])]) t.dispose();
  return v;
}

describe.each(['performer', 'sea'] as const)('OPT with %s attention', (kind) => {
  it('runs end to end with finite logits, and frees its memory', async () => {
    const model = await OptForCausalLM.load(fixture, { backend, attention: kind, seaConfig, seed: 7 });
    expect(model.attentionKinds).toEqual([kind, kind]);
    const before = backend.memory().bytes;
    const logits = await run(model);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(backend.memory().bytes).toBe(before);
    model.dispose();
  });
});

describe('OPT with SEA attention and a padded batch', () => {
  it("reads no padding mask back from the backend: each row's length is known on the host", async () => {
    const model = await OptForCausalLM.load(fixture, { backend, attention: 'sea', seaConfig, seed: 7 });
    const reads = vi.spyOn(backend, 'read');
    const out = await model.forward(ids, { attentionMask });
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    expect((out.logits.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    out.logits.dispose();
    model.dispose();
  });
});

describe('OPT attention choice', () => {
  it('picks a kind per layer, and differs from dense where SEA runs', async () => {
    const mixed = await OptForCausalLM.load(fixture, {
      backend,
      attention: (l) => (l === 0 ? 'dense' : 'sea'),
      seaConfig,
    });
    expect(mixed.attentionKinds).toEqual(['dense', 'sea']);
    const dense = await OptForCausalLM.load(fixture, { backend });
    const a = await run(mixed);
    const b = await run(dense);
    expect(a.every(Number.isFinite)).toBe(true);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeGreaterThan(0);
    mixed.dispose();
    dense.dispose();
  });

  it('reads SEA weights per layer from a safetensors file', async () => {
    const cfg = { causal: true, heads: 4, headDim: 16, scoreScale: 1, maxPositions: 128, ...seaConfig };
    const tensors: Record<string, Tensor> = {};
    const modules = [0, 1].map((i) => createAttention('sea', cfg, { seed: 100 + i, backend }));
    modules.forEach((m, i) => {
      for (const [n, t] of Object.entries(m.weights))
        tensors[`model.decoder.layers.${i}.self_attn.sea.${n}`] = t;
    });
    const file = join(tmp, 'sea.safetensors');
    await writeSafetensors(file, tensors);
    for (const m of modules) m.dispose();

    const fromFile = await OptForCausalLM.load(fixture, {
      backend,
      attention: 'sea',
      seaConfig,
      seaWeights: file,
    });
    const fromSeed = await OptForCausalLM.load(fixture, { backend, attention: 'sea', seaConfig, seed: 100 });
    const otherSeed = await OptForCausalLM.load(fixture, { backend, attention: 'sea', seaConfig, seed: 5 });
    const a = await run(fromFile);
    const b = await run(fromSeed);
    const c = await run(otherSeed);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    for (const m of [fromFile, fromSeed, otherSeed]) m.dispose();
  });

  it('refuses left padding with SEA layers', async () => {
    const model = await OptForCausalLM.load(fixture, { backend, attention: 'sea', seaConfig });
    await expect(model.forward([[1, 2, 40]], { attentionMask: [[0, 1, 1]] })).rejects.toThrow(/left-padded/);
    model.dispose();
  });

  it('says what is wrong with a bad SEA config', async () => {
    await expect(
      OptForCausalLM.load(fixture, { backend, attention: 'sea', seaConfig: { predictorLength: 30 } }),
    ).rejects.toThrow(/cannot create 'sea' attention/);
  });
});
