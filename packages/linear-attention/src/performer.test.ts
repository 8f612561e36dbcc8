// The Performer against float64 re-derivations of the docs/algorithm.md §3 formulas, written out here with loops.
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { PerformerAttention, PROJECTION_WEIGHT } from './module.js';
import {
  bidirectionalLinearAttention,
  performerAttention,
  reluFeatures,
  softmaxFeatures,
} from './performer.js';
import { orthogonalRandomProjection } from './projection.js';

const backend = new CpuBackend();
const t32 = (v: ArrayLike<number>, shape: number[]) => sea.tensor(Float32Array.from(v), shape, { backend });

function randn(rng: Rng, n: number, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std) as Float32Array;
}

function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / scale;
}

// ---- float64 references (x is [S, T, D] with S = B·H slices, W is [m, D]) ----

function projectRows(x: ArrayLike<number>, S: number, T: number, D: number, w: ArrayLike<number>, m: number) {
  const c = D ** -0.25;
  const proj = new Float64Array(S * T * m);
  const diag = new Float64Array(S * T);
  for (let r = 0; r < S * T; r++) {
    let d = 0;
    for (let i = 0; i < D; i++) d += (c * x[r * D + i]) ** 2;
    diag[r] = d / 2;
    for (let f = 0; f < m; f++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += c * x[r * D + i] * w[f * D + i];
      proj[r * m + f] = s;
    }
  }
  return { proj, diag };
}

function refSoftmaxFeatures(
  x: ArrayLike<number>,
  S: number,
  T: number,
  D: number,
  w: ArrayLike<number>,
  m: number,
  isQuery: boolean,
) {
  const { proj, diag } = projectRows(x, S, T, D, w, m);
  const out = new Float64Array(S * T * m);
  for (let s = 0; s < S; s++) {
    let sliceMax = Number.NEGATIVE_INFINITY;
    for (let i = s * T * m; i < (s + 1) * T * m; i++) sliceMax = Math.max(sliceMax, proj[i]);
    for (let t = 0; t < T; t++) {
      const r = s * T + t;
      let rowMax = Number.NEGATIVE_INFINITY;
      for (let f = 0; f < m; f++) rowMax = Math.max(rowMax, proj[r * m + f]);
      const peak = isQuery ? rowMax : sliceMax;
      for (let f = 0; f < m; f++)
        out[r * m + f] = m ** -0.5 * (Math.exp(proj[r * m + f] - diag[r] - peak) + 1e-4);
    }
  }
  return out;
}

function refReluFeatures(
  x: ArrayLike<number>,
  S: number,
  T: number,
  D: number,
  w: ArrayLike<number>,
  m: number,
) {
  const { proj } = projectRows(x, S, T, D, w, m);
  return proj.map((p) => Math.max(p, 0) + 0.001);
}

/** out_t = Σ_{j∈J(t)} (φq_t·φk_j) v_j / (Σ_{j∈J(t)} φq_t·φk_j + eps·Σφq_t), J(t) = all keys or j ≤ t. */
function refLinearAttention(
  qf: ArrayLike<number>,
  kf: ArrayLike<number>,
  v: ArrayLike<number>,
  S: number,
  Tq: number,
  Tk: number,
  m: number,
  E: number,
  causal: boolean,
  eps: number,
) {
  const out = new Float64Array(S * Tq * E);
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < Tq; t++) {
      const q = (s * Tq + t) * m;
      let den = 0;
      for (let f = 0; f < m; f++) den += eps * qf[q + f];
      const num = new Float64Array(E);
      for (let j = 0; j < (causal ? t + 1 : Tk); j++) {
        const k = (s * Tk + j) * m;
        let a = 0;
        for (let f = 0; f < m; f++) a += qf[q + f] * kf[k + f];
        den += a;
        for (let e = 0; e < E; e++) num[e] += a * v[(s * Tk + j) * E + e];
      }
      for (let e = 0; e < E; e++) out[(s * Tq + t) * E + e] = num[e] / den;
    }
  }
  return out;
}

/** Exact softmax(q·kᵀ/√D)·v. */
function refSoftmaxAttention(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  S: number,
  T: number,
  D: number,
  E: number,
) {
  const out = new Float64Array(S * T * E);
  const a = new Float64Array(T);
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) {
      let peak = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < T; j++) {
        let d = 0;
        for (let i = 0; i < D; i++) d += q[(s * T + t) * D + i] * k[(s * T + j) * D + i];
        a[j] = d / Math.sqrt(D);
        peak = Math.max(peak, a[j]);
      }
      let z = 0;
      for (let j = 0; j < T; j++) {
        a[j] = Math.exp(a[j] - peak);
        z += a[j];
      }
      for (let j = 0; j < T; j++) {
        for (let e = 0; e < E; e++) out[(s * T + t) * E + e] += (a[j] / z) * v[(s * T + j) * E + e];
      }
    }
  }
  return out;
}

describe('features', () => {
  const [B, H, T, D, m] = [2, 3, 7, 8, 21];
  const rng = new Rng(1);
  const xv = randn(rng, B * H * T * D);
  const wv = orthogonalRandomProjection(m, D, rng);
  const x = t32(xv, [B, H, T, D]);
  const w = t32(wv, [m, D]);

  it('FAVOR+ query features: max over the row', () => {
    const got = softmaxFeatures(x, w, true);
    expect(got.shape).toEqual([B, H, T, m]);
    expect(maxRelErr(got.dataSync(), refSoftmaxFeatures(xv, B * H, T, D, wv, m, true))).toBeLessThan(2e-6);
    got.dispose();
  });

  it('FAVOR+ key features: max over all tokens and features of the (b, h) slice', () => {
    const got = softmaxFeatures(x, w, false);
    const want = refSoftmaxFeatures(xv, B * H, T, D, wv, m, false);
    expect(maxRelErr(got.dataSync(), want)).toBeLessThan(2e-6);
    // the slice max is attained once per slice, where the feature is m^-1/2·(exp(−diag)+1e-4) ≤ m^-1/2·1.0001
    for (let s = 0; s < B * H; s++) {
      const slice = want.subarray(s * T * m, (s + 1) * T * m);
      expect(Math.max(...slice)).toBeLessThanOrEqual(m ** -0.5 * 1.0001 + 1e-12);
    }
    got.dispose();
  });

  it('ReLU features', () => {
    const got = reluFeatures(x, w);
    expect(maxRelErr(got.dataSync(), refReluFeatures(xv, B * H, T, D, wv, m))).toBeLessThan(2e-6);
    got.dispose();
  });

  it('rejects mismatched shapes and dtypes with a clear message', () => {
    const bad = t32(wv.subarray(0, m * 4), [m, 4]);
    expect(() => softmaxFeatures(x, bad, true)).toThrow(/projection of shape \[m,8\]/);
    const q3 = t32(xv.subarray(0, T * D), [1, T, D]);
    expect(() => reluFeatures(q3, w)).toThrow(/\[B,H,T,D\]/);
    const x64 = sea.cast(x, 'float64');
    expect(() => reluFeatures(x64, w)).toThrow(/float32/);
    for (const tt of [bad, q3, x64]) tt.dispose();
  });
});

describe('performerAttention', () => {
  const [B, H, D, m, E] = [2, 2, 8, 19, 16];

  it('bidirectional FAVOR+ equals φq(φkᵀV)/(φq·Σφk) (Tq ≠ Tk, E = 2D)', () => {
    const [Tq, Tk] = [5, 9];
    const rng = new Rng(2);
    const [qv, kv, vv] = [randn(rng, B * H * Tq * D), randn(rng, B * H * Tk * D), randn(rng, B * H * Tk * E)];
    const wv = orthogonalRandomProjection(m, D, rng);
    const out = performerAttention(t32(qv, [B, H, Tq, D]), t32(kv, [B, H, Tk, D]), t32(vv, [B, H, Tk, E]), {
      causal: false,
      projection: t32(wv, [m, D]),
    });
    expect(out.shape).toEqual([B, H, Tq, E]);
    const qf = refSoftmaxFeatures(qv, B * H, Tq, D, wv, m, true);
    const kf = refSoftmaxFeatures(kv, B * H, Tk, D, wv, m, false);
    const want = refLinearAttention(qf, kf, vv, B * H, Tq, Tk, m, E, false, 0);
    expect(maxRelErr(out.dataSync(), want)).toBeLessThan(1e-5);
  });

  it('causal ReLU kernel equals the quadratic masked form with eps 1e-6 on z', () => {
    const T = 13;
    const rng = new Rng(3);
    const [qv, kv, vv] = [randn(rng, B * H * T * D), randn(rng, B * H * T * D), randn(rng, B * H * T * E)];
    const wv = orthogonalRandomProjection(m, D, rng);
    const out = performerAttention(t32(qv, [B, H, T, D]), t32(kv, [B, H, T, D]), t32(vv, [B, H, T, E]), {
      causal: true,
      projection: t32(wv, [m, D]),
    });
    const qf = refReluFeatures(qv, B * H, T, D, wv, m);
    const kf = refReluFeatures(kv, B * H, T, D, wv, m);
    const want = refLinearAttention(qf, kf, vv, B * H, T, T, m, E, true, 1e-6);
    expect(maxRelErr(out.dataSync(), want)).toBeLessThan(1e-5);
  });

  it('the prefix-sum primitive equals the quadratic masked form built from ops', () => {
    const T = 40;
    const rng = new Rng(4);
    const qf = t32(
      randn(rng, B * H * T * m).map((x) => Math.abs(x) + 0.001),
      [B, H, T, m],
    );
    const kf = t32(
      randn(rng, B * H * T * m).map((x) => Math.abs(x) + 0.001),
      [B, H, T, m],
    );
    const v = t32(randn(rng, B * H * T * E), [B, H, T, E]);
    const fast = sea.performerPrefixSum(qf, kf, v, 1e-6);
    const quadratic = sea.tidy(() => {
      const tri = sea.tensor(
        Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? 1 : 0)),
        [T, T],
        { backend },
      );
      const a = sea.mul(sea.matmul(qf, kf, { transB: true }), tri);
      const den = sea.add(sea.sum(a, -1, true), sea.mul(sea.sum(qf, -1, true), 1e-6));
      return sea.div(sea.matmul(a, v), den);
    });
    expect(maxRelErr(fast.dataSync(), quadratic.dataSync())).toBeLessThan(1e-5);
    // and bit-for-bit causal: changing the last row leaves every earlier row unchanged
    const vv2 = v.dataSync();
    vv2[vv2.length - 1] += 1000;
    const again = sea.performerPrefixSum(qf, kf, t32(vv2, [B, H, T, E]), 1e-6).dataSync();
    const base = fast.dataSync();
    for (let s = 0; s < B * H; s++) {
      for (let i = 0; i < (T - 1) * E; i++) expect(again[s * T * E + i]).toBe(base[s * T * E + i]);
    }
  });

  it('bidirectionalLinearAttention matches the reference on given features', () => {
    const T = 6;
    const rng = new Rng(9);
    const qf = randn(rng, B * H * T * m).map((x) => Math.abs(x) + 0.01);
    const kf = randn(rng, B * H * T * m).map((x) => Math.abs(x) + 0.01);
    const vv = randn(rng, B * H * T * E);
    const out = bidirectionalLinearAttention(
      t32(qf, [B, H, T, m]),
      t32(kf, [B, H, T, m]),
      t32(vv, [B, H, T, E]),
    );
    expect(
      maxRelErr(out.dataSync(), refLinearAttention(qf, kf, vv, B * H, T, T, m, E, false, 0)),
    ).toBeLessThan(1e-5);
  });

  it('rejects mismatched inputs', () => {
    const w = t32(new Float32Array(m * D), [m, D]);
    const q = t32(new Float32Array(B * H * 4 * D), [B, H, 4, D]);
    const k = t32(new Float32Array(B * H * 5 * D), [B, H, 5, D]);
    const v = t32(new Float32Array(B * H * 5 * E), [B, H, 5, E]);
    expect(() => performerAttention(q, k, v, { causal: true, projection: w })).toThrow(
      /as many queries as keys/,
    );
    expect(() => performerAttention(q, k, q, { causal: false, projection: w })).toThrow(
      /expected v of shape/,
    );
  });
});

describe('FAVOR+ approximation of softmax attention', () => {
  it('gets closer to exact softmax attention as the number of features grows', () => {
    const [S, T, D] = [2, 32, 16];
    const seeds = [1, 2, 3, 4, 5, 6];
    const ms = [16, 64, 256, 1024];
    const errs = ms.map((m) => {
      let total = 0;
      for (const seed of seeds) {
        const rng = new Rng(100 + seed);
        const [qv, kv, vv] = [randn(rng, S * T * D, 0.6), randn(rng, S * T * D, 0.6), randn(rng, S * T * D)];
        const exact = refSoftmaxAttention(qv, kv, vv, S, T, D, D);
        const wv = orthogonalRandomProjection(m, D, new Rng(1000 * seed + m));
        const out = sea.tidy(() =>
          performerAttention(t32(qv, [1, S, T, D]), t32(kv, [1, S, T, D]), t32(vv, [1, S, T, D]), {
            causal: false,
            projection: t32(wv, [m, D]),
          }).dataSync(),
        );
        let num = 0;
        let den = 0;
        for (let i = 0; i < exact.length; i++) {
          num += (out[i] - exact[i]) ** 2;
          den += exact[i] ** 2;
        }
        total += Math.sqrt(num / den);
      }
      return total / seeds.length;
    });
    console.log(`FAVOR+ relative error vs m ${ms.map((m, i) => `m=${m}: ${errs[i].toFixed(4)}`).join(', ')}`);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1] * 1.05);
    expect(errs[3]).toBeLessThan(errs[0] * 0.4);
  });
});

describe('PerformerAttention', () => {
  const cfg = { causal: false, heads: 2, headDim: 8, nbFeatureFactor: 1 };

  it('owns a seeded projection named performer.projection', () => {
    const a = PerformerAttention.create(cfg, { seed: 7, backend });
    const b = PerformerAttention.create(cfg, { seed: 7, backend });
    expect(a.features).toBe(16); // ⌊8·ln 8⌋
    expect(a.weights[PROJECTION_WEIGHT].shape).toEqual([16, 8]);
    expect(Array.from(a.weights[PROJECTION_WEIGHT].dataSync())).toEqual(
      Array.from(b.weights[PROJECTION_WEIGHT].dataSync()),
    );
    a.dispose();
    b.dispose();
  });

  for (const causal of [false, true]) {
    it(`${causal ? 'causal' : 'bidirectional'} forward gives [B,T,H·D], zeroes V at pads and leaks nothing`, async () => {
      const layer = PerformerAttention.create({ ...cfg, causal }, { seed: 3, backend });
      const [B, H, T, D] = [2, 2, 6, 8];
      const rng = new Rng(8);
      const [qv, kv, vv] = [randn(rng, B * H * T * D), randn(rng, B * H * T * D), randn(rng, B * H * T * D)];
      const valid = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0];
      const q = t32(qv, [B, H, T, D]);
      const k = t32(kv, [B, H, T, D]);
      const v = t32(vv, [B, H, T, D]);
      const keyValid = sea.tensor(valid, [B, T], { backend, dtype: 'bool' });
      const before = backend.memory().bytes;
      const { context } = await layer.forward(q, k, v, { keyValid });
      expect(context.shape).toEqual([B, T, H * D]);
      expect(backend.memory().bytes).toBe(before + context.byteLength);
      // reference: zero V at pads by hand, run the functional form, move heads next to the width
      const vz = vv.slice();
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < T; t++)
            if (!valid[b * T + t]) vz.fill(0, ((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D);
      const ref = performerAttention(q, k, t32(vz, [B, H, T, D]), {
        causal,
        projection: layer.weights[PROJECTION_WEIGHT],
      });
      const rv = ref.dataSync();
      const got = context.dataSync();
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let h = 0; h < H; h++)
            for (let d = 0; d < D; d++)
              expect(got[(b * T + t) * H * D + h * D + d]).toBe(rv[((b * H + h) * T + t) * D + d]);
      for (const x of [q, k, v, keyValid, context, ref]) x.dispose();
      layer.dispose();
    });
  }

  it('rejects inputs of the wrong head layout', async () => {
    const layer = PerformerAttention.create(cfg, { seed: 1, backend });
    const q = t32(new Float32Array(1 * 3 * 4 * 8), [1, 3, 4, 8]);
    await expect(layer.forward(q, q, q)).rejects.toThrow(/expected q of shape \[B,2,T,8\]/);
    q.dispose();
    layer.dispose();
  });
});
