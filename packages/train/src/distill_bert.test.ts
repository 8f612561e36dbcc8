// A short CPU distillation of a tiny random BERT classifier (@sea/bert, bidirectional SEA on its dense
// path, padded batches of pair-shaped examples): the loss must fall, held-out accuracy/F1 of student
// and teacher come back, and a run resumed from a checkpoint takes bit-identical steps.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BertDistiller } from './index.js';
import { backend } from './test/gradcheck.js';
import { expectSameState, labelledExamples, randomBert, tinyBertTeacher } from './test/tiny.js';

const shape = {
  vocabSize: 64,
  hidden: 32,
  layers: 2,
  heads: 2,
  intermediate: 64,
  maxPositions: 32,
  labels: 2,
};
const opts = { k: 3, predictorLength: 8, nbf: 1, lr: 2e-3, batch: 8, seed: 3, evalExamples: 32 };

describe('BERT distillation (CPU, tiny BERT, T ≤ 16, K=8, k=3)', () => {
  it('the loss decreases: mean of the last 5 steps < 0.8 × the first; accuracy/F1 of both models', async () => {
    const teacher = await tinyBertTeacher(shape, 21);
    const train = await labelledExamples(teacher, 16, 16, 1);
    const heldOut = await labelledExamples(teacher, 32, 16, 2);
    const d = await BertDistiller.create(teacher, train, heldOut, opts);
    const before = await d.evalGlue();
    const losses: number[] = [];
    for (let s = 0; s < 40; s++) losses.push((await d.trainStep()).loss);
    const last5 = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    const ev = await d.evalGlue();
    console.log(
      `bert distill losses: first ${losses[0].toFixed(4)}, last-5 mean ${last5.toFixed(4)}, ratio ${(last5 / losses[0]).toFixed(3)}; ` +
        `held-out accuracy student ${before.accuracy.toFixed(3)} → ${ev.accuracy.toFixed(3)} (F1 ${before.f1.toFixed(3)} → ${ev.f1.toFixed(3)}), ` +
        `teacher ${ev.teacherAccuracy.toFixed(3)} (F1 ${ev.teacherF1.toFixed(3)}), ${ev.examples} examples`,
    );
    expect(last5).toBeLessThan(0.8 * losses[0]);
    expect(ev.examples).toBe(32);
    expect(ev.teacherAccuracy).toBe(1); // the held-out labels are the teacher's predictions
    expect(heldOut.filter((e) => e.label === 1).length).toBeGreaterThan(4); // and not all one class
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    d.dispose();
    teacher.dispose();
  });

  it('checkpointed layers (recomputed in backward) give the same gradients bit for bit', async () => {
    const teacher = await randomBert(shape, 23);
    const train = await labelledExamples(teacher, 8, 12, 4);
    const grads: Record<string, Float32Array>[] = [];
    for (const checkpointLayers of [false, true]) {
      const d = await BertDistiller.create(teacher, train, [], { ...opts, batch: 4, checkpointLayers });
      const g = await d.stepGradients();
      const h: Record<string, Float32Array> = {};
      for (const [n, t] of Object.entries(g.grads)) {
        h[n] = (await t.data()) as Float32Array;
        t.dispose();
      }
      grads.push(h);
      d.dispose();
    }
    expect(Object.keys(grads[1]).sort()).toEqual(Object.keys(grads[0]).sort());
    for (const n of Object.keys(grads[0])) expect(grads[1][n], n).toEqual(grads[0][n]);
    const q = grads[0]['bert.encoder.layer.0.attention.self.query.weight'];
    expect(Math.max(...q.map(Math.abs))).toBeGreaterThan(0);
    teacher.dispose();
  });

  it('bfloat16 compute (float32 masters) follows the float32 loss within 5% of the 10-step mean over 20 steps', async () => {
    const teacher = await tinyBertTeacher(shape, 21);
    const train = await labelledExamples(teacher, 16, 16, 1);
    const heldOut = await labelledExamples(teacher, 8, 16, 2);
    const runs: number[][] = [];
    for (const computeDtype of ['float32', 'bfloat16'] as const) {
      const d = await BertDistiller.create(teacher, train, heldOut, { ...opts, computeDtype });
      const losses: number[] = [];
      for (let s = 0; s < 20; s++) losses.push((await d.trainStep()).loss);
      runs.push(losses);
      for (const t of Object.values(d.params)) expect(t.dtype).toBe('float32');
      const ev = await d.evalGlue();
      expect(ev.examples).toBe(8);
      d.dispose();
    }
    const [a, b] = runs;
    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    const gaps = [0, 10].map(
      (i) => Math.abs(mean(b.slice(i, i + 10)) - mean(a.slice(i, i + 10))) / mean(a.slice(i, i + 10)),
    );
    console.log(
      `bert distill bf16 vs fp32: 10-step means apart by ${gaps.map((g) => g.toExponential(2)).join(', ')}`,
    );
    expect(Math.max(...gaps)).toBeLessThan(0.05);
    expect(b.some((x, i) => x !== a[i])).toBe(true);
    teacher.dispose();
  });

  it('resuming from a checkpoint takes the same steps bit for bit', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sea-distill-bert-'));
    const teacher = await randomBert(shape, 22);
    const train = await labelledExamples(teacher, 6, 12, 3);
    const small = { ...opts, batch: 4 };
    const a = await BertDistiller.create(teacher, train, [], small);
    for (let s = 0; s < 4; s++) await a.trainStep();
    const b = await BertDistiller.create(teacher, train, [], small);
    for (let s = 0; s < 2; s++) await b.trainStep();
    await b.save(dir);
    b.dispose();
    const c = await BertDistiller.resume(dir, teacher, train, []);
    expect(c.step).toBe(2);
    for (let s = 0; s < 2; s++) await c.trainStep();
    expect(c.step).toBe(4);
    expect(Object.keys(c.params).some((n) => n.includes('.attention.self.sea.'))).toBe(true);
    expectSameState(a, c);
    a.dispose();
    c.dispose();
    teacher.dispose();
    await fs.rm(dir, { recursive: true, force: true });
    void backend;
  });
});
