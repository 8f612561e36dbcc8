// The CNNs against float64 loops written from docs/algorithm.md §4a/§4b (test/ref64.ts), plus causality and
// receptive field of the causal CNN.
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { bidirectionalCnn64, causalCnn64, type W } from '../test/ref64.js';
import { predictorCnn } from './cnn.js';
import { type PredictorConfig, predictorWeightSpecs } from './config.js';
import type { PredictorWeights } from './weights.js';

const backend = new CpuBackend();

/** Every weight random (norm affines too), so nothing is trivially 0 or 1. */
function randomWeights(cfg: PredictorConfig, seed: number): { w: PredictorWeights; w64: W } {
  const rng = new Rng(seed);
  const w: PredictorWeights = {};
  const w64: W = {};
  for (const spec of predictorWeightSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const v = rng.fillNormal(new Float32Array(n), 0, spec.name.includes('norm') ? 1 : 0.4) as Float32Array;
    w[spec.name] = sea.tensor(v, spec.shape, { backend });
    w64[spec.name] = v;
  }
  return { w, w64 };
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst / scale;
}

describe('causal CNN (docs/algorithm.md §4a)', () => {
  const cfg = { causal: true, heads: 2, headDim: 4, predictorLength: 16, maxPositions: 32 };
  const [B, H, T, K] = [2, 2, 11, 16];

  it('equals the float64 loops: LN, dilated causal convs, ×4, padded 1×1 conv, area to K, LN', () => {
    const { w, w64 } = randomWeights(cfg, 1);
    const x = new Rng(2).fillNormal(new Float32Array(B * 2 * H * T * (K / 4))) as Float32Array;
    const out = predictorCnn(cfg, w, sea.tensor(x, [B, 2 * H, T, K / 4], { backend }));
    expect(out.shape).toEqual([B, H, T, K]);
    expect(maxRelErr(out.dataSync(), causalCnn64(x, B, H, T, K, w64))).toBeLessThan(1e-5);
  });

  it('ignores the bottom two (masked) time rows of the stored 5×3 kernels', () => {
    const { w } = randomWeights(cfg, 3);
    const x = sea.tensor(
      new Rng(4).fillNormal(new Float32Array(B * 2 * H * T * (K / 4))),
      [B, 2 * H, T, K / 4],
      {
        backend,
      },
    );
    const before = predictorCnn(cfg, w, x).dataSync();
    // official CausalConv2d stores 5×3 and masks rows 3–4; only rows 0–2 (taps t−4, t−2, t) count
    const k = w['cnn.conv1.weight'].dataSync();
    for (let i = 0; i < k.length; i++) if (Math.floor(i / 3) % 5 >= 3) k[i] = 100;
    w['cnn.conv1.weight'] = sea.tensor(k, [2 * H, 2 * H, 5, 3], { backend });
    expect(Array.from(predictorCnn(cfg, w, x).dataSync())).toEqual(Array.from(before));
  });

  it('is causal with a receptive field of 8 rows: row t reaches rows t, t+2, …, t+8 only (dilation 2)', () => {
    const { w } = randomWeights(cfg, 5);
    const T2 = 24;
    const base = new Rng(6).fillNormal(new Float32Array(1 * 2 * H * T2 * (K / 4))) as Float32Array;
    const run = (v: Float32Array) =>
      predictorCnn(cfg, w, sea.tensor(v, [1, 2 * H, T2, K / 4], { backend })).dataSync();
    const y0 = run(base);
    const t = 9;
    const bumped = base.slice();
    for (let c = 0; c < 2 * H; c++)
      for (let j = 0; j < K / 4; j++) bumped[(c * T2 + t) * (K / 4) + j] += 50 * (j + 1);
    const y1 = run(bumped);
    const rowChanged = (r: number) => {
      for (let h = 0; h < H; h++)
        for (let j = 0; j < K; j++) if (y0[(h * T2 + r) * K + j] !== y1[(h * T2 + r) * K + j]) return true;
      return false;
    };
    for (let r = 0; r < T2; r++)
      expect(rowChanged(r), `row ${r}`).toBe(r >= t && r <= t + 8 && (r - t) % 2 === 0);
  });
});

describe('bidirectional CNN (docs/algorithm.md §4b)', () => {
  const cfg = { causal: false, heads: 2, headDim: 4, predictorLength: 8 };
  const [B, H, K] = [2, 2, 8];
  for (const T of [7, 8, 1, 2]) {
    it(`equals the float64 loops at T=${T}: strided conv, conv, ×2 time, conv, bilinear to (T, K)`, () => {
      const { w, w64 } = randomWeights(cfg, 10 + T);
      const x = new Rng(T).fillNormal(new Float32Array(B * 4 * H * T * (K / 2))) as Float32Array;
      const out = predictorCnn(cfg, w, sea.tensor(x, [B, 4 * H, T, K / 2], { backend }));
      expect(out.shape).toEqual([B, H, T, K]);
      expect(maxRelErr(out.dataSync(), bidirectionalCnn64(x, B, H, T, K, w64))).toBeLessThan(1e-5);
    });
  }

  it('rejects an input of the wrong channel count', () => {
    const { w } = randomWeights(cfg, 1);
    const x = sea.zeros([1, 2 * H, 4, K / 2], { backend });
    expect(() => predictorCnn(cfg, w, x)).toThrow(/expected input of shape \[B,8,T,4\]/);
  });
});
