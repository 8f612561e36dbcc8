/** BERT with Performer or SEA attention end to end: shapes, finiteness, padding, per-layer choice. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { useBackend } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/bert-cls');
const backend = new CpuBackend();
useBackend(backend);

const seaConfig = { predictorLength: 16, k: 4, nbFeatureFactor: 1 };
const ids = [
  [101, 200, 201, 202, 203, 102, 300, 301, 302, 102],
  [101, 210, 211, 212, 102, 310, 102, 0, 0, 0],
];
const attentionMask = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
];
const tokenTypeIds = [
  [0, 0, 0, 0, 0, 0, 1, 1, 1, 1],
  [0, 0, 0, 0, 0, 1, 1, 0, 0, 0],
];

describe.each(['performer', 'sea'] as const)('BERT with %s attention', (kind) => {
  it('classifies a padded batch with finite logits and frees its memory', async () => {
    const model = await BertForSequenceClassification.load(fixture, {
      backend,
      attention: kind,
      seaConfig,
      seed: 3,
    });
    expect(model.attentionKinds).toEqual([kind, kind]);
    const before = backend.memory().bytes;
    const out = await model.forward(ids, { attentionMask, tokenTypeIds, outputHiddenStates: true });
    expect(out.logits.shape).toEqual([2, 2]);
    expect(out.pooled.shape).toEqual([2, 64]);
    expect(out.hiddenStates?.length).toBe(3);
    expect((out.logits.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    for (const h of out.hiddenStates ?? [])
      expect((h.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    for (const t of [out.logits, out.pooled, ...(out.hiddenStates ?? [])]) t.dispose();
    expect(backend.memory().bytes).toBe(before);
    model.dispose();
  });
});

it('BERT picks attention per layer', async () => {
  const model = await BertForSequenceClassification.load(fixture, {
    backend,
    attention: (l) => (l === 1 ? 'sea' : 'dense'),
    seaConfig,
  });
  expect(model.attentionKinds).toEqual(['dense', 'sea']);
  const out = await model.forward(ids, { attentionMask, tokenTypeIds });
  expect((out.logits.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
  out.logits.dispose();
  out.pooled.dispose();
  model.dispose();
});
