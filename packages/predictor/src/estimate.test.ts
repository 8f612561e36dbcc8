// estimateAttention end to end against the float64 re-derivation of docs/algorithm.md §3–§4 (test/ref64.ts),
// plus shapes, causality and the padding behaviour.
import { CpuBackend } from '@sea/backend-cpu';
import { orthogonalRandomProjection, performerFeatureCount } from '@sea/linear-attention';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { estimate64, type W } from '../test/ref64.js';
import { type PredictorConfig, predictorWeightSpecs } from './config.js';
import { estimateAttention } from './estimate.js';
import { disposePredictorWeights, initPredictorWeights, type PredictorWeights } from './weights.js';

const backend = new CpuBackend();

interface Case {
  cfg: PredictorConfig;
  weights: PredictorWeights;
  w64: W;
  projection: sea.Tensor;
  proj: Float32Array;
  m: number;
}

function makeCase(cfg: PredictorConfig, seed: number): Case {
  const weights = initPredictorWeights(cfg, { seed, backend });
  // perturb the LayerNorm affines so they are exercised
  const rng = new Rng(seed + 1);
  for (const spec of predictorWeightSpecs(cfg)) {
    if (!spec.name.includes('norm')) continue;
    weights[spec.name].dispose();
    weights[spec.name] = sea.tensor(rng.fillNormal(new Float32Array(spec.shape[0]), 0.5, 0.5), spec.shape, {
      backend,
    });
  }
  const w64: W = {};
  for (const [k, t] of Object.entries(weights)) w64[k] = t.dataSync() as Float32Array;
  const m = performerFeatureCount(cfg.headDim, 1);
  const proj = orthogonalRandomProjection(m, cfg.headDim, new Rng(seed + 2));
  return { cfg, weights, w64, projection: sea.tensor(proj, [m, cfg.headDim], { backend }), proj, m };
}

function inputs(B: number, H: number, T: number, D: number, seed: number, scaleQ = 1) {
  const rng = new Rng(seed);
  const q = rng.fillNormal(new Float32Array(B * H * T * D), 0, scaleQ) as Float32Array;
  const k = rng.fillNormal(new Float32Array(B * H * T * D)) as Float32Array;
  const v = rng.fillNormal(new Float32Array(B * H * T * D)) as Float32Array;
  return { q, k, v };
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

function run(c: Case, B: number, T: number, x: ReturnType<typeof inputs>, valid?: number[]) {
  const { heads: H, headDim: D } = c.cfg;
  const t = (a: Float32Array) => sea.tensor(a, [B, H, T, D], { backend });
  const keyValid = valid ? sea.tensor(valid, [B, T], { backend, dtype: 'bool' }) : undefined;
  const out = estimateAttention(c.cfg, c.weights, {
    q: t(x.q),
    k: t(x.k),
    v: t(x.v),
    projection: c.projection,
    keyValid,
  });
  return { logits: out.logits.dataSync(), sProb: out.sProb.dataSync(), sMix: out.sMix.dataSync(), out };
}

describe('estimateAttention vs float64 re-derivation', () => {
  it('bidirectional with padding (V_I, FAVOR+, encoder, scalers, split, CNN)', () => {
    const cfg = { causal: false, heads: 2, headDim: 8, predictorLength: 8 };
    const c = makeCase(cfg, 10);
    const [B, T] = [2, 7];
    const x = inputs(B, 2, T, 8, 11, 0.5);
    const valid = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
    const got = run(c, B, T, x, valid);
    expect(got.out.logits.shape).toEqual([B, 2, T, 8]);
    expect(got.out.sProb.shape).toEqual([B, 2, T]);
    const want = estimate64(
      { causal: false, H: 2, D: 8, K: 8 },
      c.w64,
      x.q,
      x.k,
      x.v,
      c.proj,
      c.m,
      B,
      T,
      valid,
    );
    expect(maxRelErr(got.logits, want.logits)).toBeLessThan(1e-4);
    expect(maxRelErr(got.sProb, want.sProb)).toBeLessThan(1e-5);
    expect(maxRelErr(got.sMix, want.sMix)).toBeLessThan(1e-5);
  });

  it('causal (learned position table, ReLU prefix-sum Performer, causal CNN)', () => {
    const cfg = { causal: true, heads: 2, headDim: 8, predictorLength: 16, maxPositions: 32 };
    const c = makeCase(cfg, 20);
    const [B, T] = [2, 13];
    const x = inputs(B, 2, T, 8, 21, 8 ** -0.5);
    const got = run(c, B, T, x);
    expect(got.out.logits.shape).toEqual([B, 2, T, 16]);
    const want = estimate64(
      { causal: true, H: 2, D: 8, K: 16 },
      c.w64,
      x.q,
      x.k,
      x.v,
      c.proj,
      c.m,
      B,
      T,
      new Array(B * T).fill(1),
    );
    expect(maxRelErr(got.logits, want.logits)).toBeLessThan(1e-4);
    expect(maxRelErr(got.sProb, want.sProb)).toBeLessThan(1e-5);
    expect(maxRelErr(got.sMix, want.sMix)).toBeLessThan(1e-5);
  });
});

describe('estimateAttention shapes', () => {
  const c = makeCase({ causal: false, heads: 3, headDim: 8, predictorLength: 12 }, 30);
  for (const T of [1, 2, 5, 9]) {
    it(`bidirectional T=${T} gives logits [B,H,T,K]`, () => {
      const r = run(c, 2, T, inputs(2, 3, T, 8, T));
      expect(r.out.logits.shape).toEqual([2, 3, T, 12]);
      expect(r.out.sMix.shape).toEqual([2, 3, T]);
      expect(r.logits.every(Number.isFinite)).toBe(true);
    });
  }

  it('OPT-125m-sized layer at T=64 runs with the shapes of docs/algorithm.md §2', () => {
    const cfg = { causal: true, heads: 12, headDim: 64, predictorLength: 256 };
    const weights = initPredictorWeights(cfg, { seed: 1, backend });
    const m = performerFeatureCount(64, 8);
    const projection = sea.tensor(orthogonalRandomProjection(m, 64, new Rng(3)), [m, 64], { backend });
    const x = inputs(1, 12, 64, 64, 2, 0.125);
    const t = (a: Float32Array) => sea.tensor(a, [1, 12, 64, 64], { backend });
    const [q, k, v] = [t(x.q), t(x.k), t(x.v)];
    const before = backend.memory().bytes;
    const out = estimateAttention(cfg, weights, { q, k, v, projection });
    expect(out.logits.shape).toEqual([1, 12, 64, 256]);
    // the CNN ends in a LayerNorm over K: each row has mean ≈ beta (0) at init
    const l = out.logits.dataSync();
    let mean = 0;
    for (let j = 0; j < 256; j++) mean += l[j] / 256;
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    // nothing but the outputs stays allocated
    const held = out.logits.byteLength + out.sProb.byteLength + out.sMix.byteLength;
    expect(backend.memory().bytes).toBe(before + held);
    for (const o of [out.logits, out.sProb, out.sMix, q, k, v, projection]) o.dispose();
    disposePredictorWeights(weights);
  });
});

describe('estimateAttention causality (causal)', () => {
  it('perturbing row t of q, k and v leaves every output row < t bit-identical', () => {
    const cfg = { causal: true, heads: 2, headDim: 8, predictorLength: 16, maxPositions: 64 };
    const c = makeCase(cfg, 40);
    const [B, H, T, K] = [1, 2, 24, 16];
    const x = inputs(B, H, T, 8, 41, 0.35);
    const base = run(c, B, T, x);
    for (const t of [0, 7, 23]) {
      const y = { q: x.q.slice(), k: x.k.slice(), v: x.v.slice() };
      for (let h = 0; h < H; h++)
        for (let d = 0; d < 8; d++) {
          const i = (h * T + t) * 8 + d;
          y.q[i] += 30;
          y.k[i] -= 20;
          y.v[i] += 1000;
        }
      const p = run(c, B, T, y);
      for (let h = 0; h < H; h++) {
        for (let r = 0; r < t; r++) {
          expect(p.sProb[h * T + r]).toBe(base.sProb[h * T + r]);
          expect(p.sMix[h * T + r]).toBe(base.sMix[h * T + r]);
          for (let j = 0; j < K; j++)
            expect(p.logits[(h * T + r) * K + j]).toBe(base.logits[(h * T + r) * K + j]);
        }
      }
      // …and row t itself does change
      let changed = false;
      for (let j = 0; j < K; j++) changed ||= p.logits[t * K + j] !== base.logits[t * K + j];
      expect(changed).toBe(true);
    }
  });
});

describe('estimateAttention padding (bidirectional)', () => {
  const c = makeCase({ causal: false, heads: 2, headDim: 8, predictorLength: 8 }, 50);
  const [B, T] = [1, 6];
  const valid = [1, 1, 1, 1, 0, 0];
  const x = inputs(B, 2, T, 8, 51, 0.5);
  const base = run(c, B, T, x, valid);

  it('V at pad positions does not matter (it is zeroed)', () => {
    const y = { ...x, v: x.v.slice() };
    for (let h = 0; h < 2; h++) for (let d = 0; d < 8; d++) y.v[(h * T + 5) * 8 + d] = 1e3;
    const p = run(c, B, T, y, valid);
    expect(Array.from(p.logits)).toEqual(Array.from(base.logits));
  });

  it('K at pad positions still counts in the Performer denominator (docs/algorithm.md §3 quirk)', () => {
    const y = { ...x, k: x.k.slice() };
    for (let h = 0; h < 2; h++) for (let d = 0; d < 8; d++) y.k[(h * T + 5) * 8 + d] += 3;
    const p = run(c, B, T, y, valid);
    expect(Array.from(p.logits)).not.toEqual(Array.from(base.logits));
  });
});

describe('estimateAttention input validation', () => {
  const c = makeCase({ causal: true, heads: 2, headDim: 8, predictorLength: 8, maxPositions: 16 }, 60);
  const z = (shape: number[]) => sea.zeros(shape, { backend });

  it('names the bad input', () => {
    const q = z([1, 2, 4, 8]);
    expect(() =>
      estimateAttention(c.cfg, c.weights, { q, k: z([1, 3, 4, 8]), v: q, projection: c.projection }),
    ).toThrow(/expected k of shape \[1,2,4,8\]/);
    const kv = sea.tensor([1, 1, 1], [1, 3], { backend, dtype: 'bool' });
    expect(() =>
      estimateAttention(c.cfg, c.weights, { q, k: q, v: q, projection: c.projection, keyValid: kv }),
    ).toThrow(/keyValid bool \[1,4\]/);
    const long = z([1, 2, 17, 8]);
    expect(() =>
      estimateAttention(c.cfg, c.weights, { q: long, k: long, v: long, projection: c.projection }),
    ).toThrow(/exceeds the position table/);
  });

  it('names a missing or misshapen weight', () => {
    const q = z([1, 2, 4, 8]);
    const { 'nu.bias': _, ...rest } = c.weights;
    expect(() => estimateAttention(c.cfg, rest, { q, k: q, v: q, projection: c.projection })).toThrow(
      /missing weight 'nu.bias' \[4\]/,
    );
    const bad = { ...c.weights, 'scaler.weight': z([2, 8]) };
    expect(() => estimateAttention(c.cfg, bad, { q, k: q, v: q, projection: c.projection })).toThrow(
      /expected weight 'scaler.weight' of shape \[2,16\]/,
    );
  });
});

describe('estimateAttention memory', () => {
  // Each intermediate goes as soon as the chain is past it, so the peak above the inputs is a few
  // [B,H,T,·] tensors (5.1 units of [B,H,T,K] at this shape); holding the whole chain takes 10.8.
  it('peaks at a few [B,H,T,K] tensors, not the whole chain', () => {
    const cfg = { causal: true, heads: 4, headDim: 16, predictorLength: 32, maxPositions: 512 };
    const c = makeCase(cfg, 70);
    const T = 512;
    const rng = new Rng(71);
    const x = () =>
      sea.tensor(rng.fillNormal(new Float32Array(4 * T * 16), 0, 1), [1, 4, T, 16], { backend });
    const [q, k, v] = [x(), x(), x()];
    const base = backend.memory().bytes;
    backend.resetPeak();
    const out = estimateAttention(cfg, c.weights, { q, k, v, projection: c.projection });
    const peak = backend.memory().peakBytes - base;
    const unit = 4 * T * 32 * 4; // one float32 [1,4,T,32]
    expect(out.logits.shape).toEqual([1, 4, T, 32]);
    expect(peak / unit).toBeLessThan(7);
    expect(peak / unit).toBeGreaterThan(1);
    for (const t of [out.logits, out.sProb, out.sMix, q, k, v]) t.dispose();
    disposePredictorWeights(c.weights);
    c.projection.dispose();
  });
});
