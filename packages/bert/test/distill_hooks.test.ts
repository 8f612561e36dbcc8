/**
 * The hooks a distiller needs (as @sea/opt has them): parameters/buffers by HF name, fromWeights,
 * per-call parameters, captureAttention (teacher logits q·kᵀ/√D + mask, SEA training outputs).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { add, type Tensor, useBackend } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { BERT_FP_MIN, BertForSequenceClassification } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/bert-cls');
const backend = new CpuBackend();
useBackend(backend);

const ids = [
  [101, 200, 201, 202, 203, 102, 300, 301, 302, 102],
  [101, 210, 211, 212, 102, 310, 102, 0, 0, 0],
];
const attentionMask = [
  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
];
const seaConfig = { predictorLength: 8, k: 3, nbFeatureFactor: 1 };
const values = (t: Tensor) => [...(t.dataSync() as Float32Array)];

describe('BERT distillation hooks', () => {
  it('fromWeights(parameters()) reproduces load(); per-call parameters replace tensors by name', async () => {
    const a = await BertForSequenceClassification.load(fixture, { backend });
    const b = await BertForSequenceClassification.fromWeights(a.config, a.parameters(), { backend });
    const oa = await a.forward(ids, { attentionMask });
    const ob = await b.forward(ids, { attentionMask });
    expect(values(ob.logits)).toEqual(values(oa.logits));
    const bias = a.parameters().get('classifier.bias') as Tensor;
    const shifted = add(bias, 1);
    const oc = await a.forward(ids, { attentionMask, parameters: new Map([['classifier.bias', shifted]]) });
    const base = values(oa.logits);
    for (const [i, v] of values(oc.logits).entries()) expect(v).toBeCloseTo(base[i] + 1, 5);
    await expect(a.forward(ids, { attentionMask, parameters: new Map([['nope', shifted]]) })).rejects.toThrow(
      /not a parameter/,
    );
    for (const t of [oa.logits, oa.pooled, ob.logits, ob.pooled, oc.logits, oc.pooled, bias, shifted])
      t.dispose();
    a.dispose();
    b.dispose();
  });

  it('captureAttention: teacher logits q·kᵀ/√D + mask; SEA S/√D equals them on valid keys', async () => {
    const teacher = await BertForSequenceClassification.load(fixture, { backend });
    const p = teacher.parameters();
    const student = await BertForSequenceClassification.fromWeights(teacher.config, p, {
      backend,
      attention: 'sea',
      seaConfig,
      seed: 2,
    });
    const names = [...student.parameters().keys()];
    expect(names.filter((n) => n.includes('.sea.')).length).toBeGreaterThan(0);
    expect(
      names.every((n) => !n.includes('.sea.') || /^bert\.encoder\.layer\.\d\.attention\.self\.sea\./.test(n)),
    ).toBe(true);
    expect([...student.buffers().keys()]).toEqual([
      'bert.encoder.layer.0.attention.self.sea.performer.projection',
      'bert.encoder.layer.1.attention.self.sea.performer.projection',
    ]);
    const before = backend.memory().bytes;
    const opts = { attentionMask, captureAttention: true, outputHiddenStates: true };
    const t = await teacher.forward(ids, opts);
    const s = await student.forward(ids, opts);
    const [B, H, T] = [2, teacher.config.numAttentionHeads, 10];
    const mask = values(t.logitMask as Tensor);
    expect(values(t.validRows as Tensor)).toEqual(attentionMask.flat());
    expect(mask[(1 * T + 2) * T + 8]).toBe(Math.fround(BERT_FP_MIN));
    expect(mask[(1 * T + 2) * T + 6]).toBe(0);
    for (let l = 0; l < 2; l++) {
      const tl = t.layers?.[l];
      const sl = s.layers?.[l];
      expect(tl?.logits?.shape).toEqual([B, H, T, T]);
      expect(sl?.training).toBeDefined();
      const tv = values(tl?.logits as Tensor);
      const sv = values(sl?.training?.studentScores as Tensor);
      expect(sl?.context.shape).toEqual(tl?.context.shape);
      // layer 0 sees the same hidden state in both models, so the same q and k
      if (l > 0) continue;
      for (let i = 0; i < tv.length; i++) {
        const b = Math.floor(i / (H * T * T));
        if (attentionMask[b][i % T]) expect(sv[i]).toBeCloseTo(tv[i], 4);
      }
    }
    const all = (o: typeof t) => [
      o.logits,
      o.pooled,
      o.logitMask,
      o.validRows,
      ...(o.hiddenStates ?? []),
      ...(o.layers ?? []).flatMap((l) => [l.context, l.logits, ...Object.values(l.training ?? {})]),
    ];
    for (const x of [...all(t), ...all(s)]) x?.dispose();
    expect(backend.memory().bytes).toBe(before);
    teacher.dispose();
    student.dispose();
  });
});
