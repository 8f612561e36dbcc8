import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { accuracy, f1, perplexity, perplexityWindows, windowCrossEntropy } from './metrics.js';

describe('perplexity windows', () => {
  it('drops the last partial window', () => {
    expect(perplexityWindows(10, 4)).toEqual([0, 4]);
    expect(perplexityWindows(8, 4)).toEqual([0, 4]);
    expect(perplexityWindows(3, 4)).toEqual([]);
  });
  it('rejects a window shorter than 2', () => {
    expect(() => perplexityWindows(10, 1)).toThrow(/window/);
  });
});

describe('window cross-entropy', () => {
  it('equals −mean log softmax of the next token, computed naively in float64', () => {
    const rng = new Rng(3);
    const T = 7;
    const V = 11;
    const logits = rng.fillNormal(new Float32Array(T * V), 0, 3) as Float32Array;
    const ids = Array.from({ length: T }, () => rng.int(V));
    let ref = 0;
    for (let t = 0; t < T - 1; t++) {
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(logits[t * V + v]);
      ref += -Math.log(Math.exp(logits[t * V + ids[t + 1]]) / z);
    }
    expect(windowCrossEntropy(logits, ids, V)).toBeCloseTo(ref / (T - 1), 10);
  });
  it('uniform logits give perplexity equal to the vocabulary size', () => {
    const V = 50;
    const loss = windowCrossEntropy(new Float32Array(5 * V), [1, 2, 3, 4, 5], V);
    expect(perplexity([loss, loss])).toBeCloseTo(V, 8);
  });
  it('names non-finite logits', () => {
    const l = new Float32Array(6).fill(Number.NaN);
    expect(() => windowCrossEntropy(l, [0, 1, 2], 2)).toThrow(/non-finite/);
  });
});

describe('classification metrics', () => {
  it('accuracy and binary F1 (positive class 1)', () => {
    const gold = [1, 1, 0, 0, 1, 0];
    const pred = [1, 0, 0, 1, 1, 0];
    expect(accuracy(pred, gold)).toBeCloseTo(4 / 6, 12);
    // tp=2 fp=1 fn=1 → precision 2/3, recall 2/3 → F1 2/3
    expect(f1(pred, gold)).toBeCloseTo(2 / 3, 12);
  });
});
