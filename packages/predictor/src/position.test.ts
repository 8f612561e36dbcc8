import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { vIdentity64 } from '../test/ref64.js';
import { positionCode } from './position.js';
import { disposePredictorWeights, initPredictorWeights } from './weights.js';

const backend = new CpuBackend();

describe('positionCode, bidirectional V_I (docs/algorithm.md §3)', () => {
  const cfg = { causal: false, heads: 3, headDim: 8, predictorLength: 8 };
  const weights = initPredictorWeights(cfg, { seed: 1, backend });

  it('is the identity stretched over the valid tokens, zero at pads, the same for every head', () => {
    const [B, T, D, H] = [3, 7, 8, 3];
    const valid = [
      [1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0, 0, 0],
      [1, 0, 0, 0, 0, 0, 0],
    ];
    const keyValid = sea.tensor(valid.flat(), [B, T], { backend, dtype: 'bool' });
    const got = positionCode(cfg, weights, { batch: B, T, keyValid });
    expect(got.shape).toEqual([B, H, T, D]);
    const v = got.dataSync();
    for (let b = 0; b < B; b++) {
      const want = vIdentity64(valid[b], D);
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T * D; i++)
          expect(Math.abs(v[(b * H + h) * T * D + i] - want[i])).toBeLessThan(1e-6);
    }
    // docs/algorithm.md §3 example: 4 valid tokens over D = 8 bins → p = 0, 7/3, 14/3, 7
    const row = (t: number) => Array.from(v.subarray((1 * H * T + t) * D, (1 * H * T + t + 1) * D));
    expect(row(0)[0]).toBeCloseTo(1, 6);
    expect(row(1)[2]).toBeCloseTo(2 / 3, 6);
    expect(row(1)[3]).toBeCloseTo(1 / 3, 6);
    expect(row(2)[4]).toBeCloseTo(1 / 3, 6);
    expect(row(2)[5]).toBeCloseTo(2 / 3, 6);
    expect(row(3)[7]).toBeCloseTo(1, 6);
    // a single valid token sits in bin 0
    expect(v[2 * H * T * D]).toBe(1);
  });

  it('without keyValid every token is valid', () => {
    const got = positionCode(cfg, weights, { batch: 2, T: 5 }).dataSync();
    const want = vIdentity64([1, 1, 1, 1, 1], 8);
    for (let i = 0; i < 5 * 8; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-6);
  });

  it('rejects a keyValid of the wrong shape', () => {
    const kv = sea.tensor([1, 1, 1], [1, 3], { backend, dtype: 'bool' });
    expect(() => positionCode(cfg, weights, { batch: 1, T: 4, keyValid: kv })).toThrow(
      /keyValid bool \[1,4\]/,
    );
  });
});

describe('positionCode, causal learned table (docs/algorithm.md §3)', () => {
  const cfg = { causal: true, heads: 2, headDim: 4, predictorLength: 8, maxPositions: 10 };
  const weights = initPredictorWeights(cfg, { seed: 2, backend });

  it('broadcasts P[0:T] over batch and heads', () => {
    const p = weights.position.dataSync();
    const got = positionCode(cfg, weights, { batch: 2, T: 6 });
    expect(got.shape).toEqual([2, 2, 6, 4]);
    const v = got.dataSync();
    for (let bh = 0; bh < 4; bh++) for (let i = 0; i < 6 * 4; i++) expect(v[bh * 24 + i]).toBe(p[i]);
  });

  it('says so when T exceeds the table', () => {
    expect(() => positionCode(cfg, weights, { batch: 1, T: 11 })).toThrow(
      /T=11 exceeds the position table's 10 rows/,
    );
    disposePredictorWeights(weights);
  });
});
