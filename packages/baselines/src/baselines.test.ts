// Reformer (LSH) and cosFormer against float64 definitions written here: per hash round, softmax
// over the keys of a query's sorted chunk and the chunk before it; cosFormer as ReLU features with
// the cos(π/2·(i − j)/T) re-weighting, normalised and clamped. Random inputs, causal and not, padding.
import { CpuBackend } from '@sea/backend-cpu';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { COSFORMER_WEIGHTS, CosformerAttention, ReformerAttention } from './index.js';

sea.useBackend(new CpuBackend());
const rng = new sea.Rng(7);

function randn(n: number, scale = 1): Float64Array {
  return rng.fillNormal(new Float64Array(n), 0, scale) as Float64Array;
}

/** LSH attention by its definition, one query at a time, in float64 (reformer_pytorch's semantics). */
function lshReference(
  m: ReformerAttention,
  q: Float64Array,
  v: Float64Array,
  B: number,
  T: number,
  valid: Uint8Array | null,
): Float64Array {
  const { heads: H, headDim: D, bucketSize: bs, nHashes: nh, causal } = m.config;
  const TP = Math.ceil(T / (2 * bs)) * 2 * bs;
  const nb = TP / bs;
  const half = nb / 2;
  const R = m.rotations(nb);
  const out = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const row = (t: number) =>
        t < T ? q.subarray(((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D) : new Float64Array(D);
      const vrow = (t: number) =>
        t < T ? v.subarray(((b * H + h) * T + t) * D, ((b * H + h) * T + t + 1) * D) : new Float64Array(D);
      const unit = (x: Float64Array) => {
        const n = Math.max(Math.hypot(...x), 1e-12);
        return x.map((y) => y / n);
      };
      // per round: the bucket of each token, the sorted order, each token's chunk
      const perRound: { lse: number; o: Float64Array }[][] = [];
      for (let r = 0; r < nh; r++) {
        const bucket = (t: number) => {
          const x = row(t);
          const s = Array.from({ length: nb }, (_, i) => {
            let acc = 0;
            const ii = i % half;
            for (let f = 0; f < D; f++) acc += x[f] * R[(f * nh + r) * half + ii];
            return i < half ? acc : -acc;
          });
          let best = 0;
          for (let i = 1; i < nb; i++) if (s[i] > s[best]) best = i;
          return best;
        };
        const order = Array.from({ length: TP }, (_, t) => t).sort((a, c) => bucket(a) - bucket(c) || a - c);
        const pos = new Int32Array(TP);
        order.forEach((t, i) => {
          pos[t] = i;
        });
        perRound.push(
          Array.from({ length: T }, (_, t) => {
            const c = Math.floor(pos[t] / bs);
            const keys = order.slice(c * bs, (c + 1) * bs);
            return { lse: 0, o: new Float64Array(D), keys, c } as unknown as { lse: number; o: Float64Array };
          }),
        );
        // keep the order for the look-back below
        (perRound[r] as unknown as { order: number[] }[]).forEach((e) => {
          (e as unknown as { order: number[] }).order = order;
        });
      }
      // look-back: the chunk before chunk c of round r (the last chunk of round r−1 for c = 0, wrapping)
      for (let r = 0; r < nh; r++) {
        for (let t = 0; t < T; t++) {
          const e = perRound[r][t] as unknown as {
            keys: number[];
            c: number;
            order: number[];
            lse: number;
            o: Float64Array;
          };
          const prevRound = e.c === 0 ? (r + nh - 1) % nh : r;
          const prevChunk = e.c === 0 ? nb - 1 : e.c - 1;
          const prevOrder = (perRound[prevRound][0] as unknown as { order: number[] }).order;
          const all = [...e.keys, ...prevOrder.slice(prevChunk * bs, (prevChunk + 1) * bs)];
          const qt = row(t);
          const scores = all.map((j) => {
            if (j === t) return -5e4;
            if (j >= T || (valid && !valid[b * T + j]) || (causal && j > t)) return -3.4028234663852886e38;
            const kj = unit(row(j));
            let s = 0;
            for (let f = 0; f < D; f++) s += qt[f] * kj[f];
            return s / Math.sqrt(D);
          });
          const mx = Math.max(...scores);
          const z = scores.reduce((a, s) => a + Math.exp(s - mx), 0);
          e.lse = mx + Math.log(z);
          all.forEach((j, n) => {
            const p = Math.exp(scores[n] - e.lse);
            const vj = vrow(j);
            for (let f = 0; f < D; f++) e.o[f] += p * vj[f];
          });
        }
      }
      for (let t = 0; t < T; t++) {
        const l = perRound.map((pr) => pr[t].lse);
        const mx = Math.max(...l);
        const z = l.reduce((a, x) => a + Math.exp(x - mx), 0);
        for (let r = 0; r < nh; r++) {
          const w = Math.exp(l[r] - mx) / z;
          for (let f = 0; f < D; f++) out[((b * T + t) * H + h) * D + f] += w * perRound[r][t].o[f];
        }
      }
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('ReformerAttention (LSH, shared query-key)', () => {
  for (const causal of [true, false]) {
    it(`matches the per-query definition in float64 (${causal ? 'causal' : 'bidirectional'}, padding, T not a multiple of 2·bucket)`, async () => {
      const B = 2;
      const H = 2;
      const D = 8;
      const T = 21;
      const m = new ReformerAttention({ causal, heads: H, headDim: D, bucketSize: 4, nHashes: 3 }, 5);
      const qv = randn(B * H * T * D);
      const vv = randn(B * H * T * D);
      const valid = new Uint8Array(B * T).fill(1);
      for (let t = 17; t < T; t++) valid[T + t] = 0; // row 1 right-padded
      const q = sea.tensor(qv, [B, H, T, D], { dtype: 'float64' });
      const v = sea.tensor(vv, [B, H, T, D], { dtype: 'float64' });
      const kv = sea.tensor(valid, [B, T], { dtype: 'bool' });
      const { context } = await m.forward(q, q, v, { keyValid: kv });
      expect(context.shape).toEqual([B, T, H * D]);
      const ref = lshReference(m, qv, vv, B, T, valid);
      const got = (await context.data()) as Float64Array;
      // padded query rows of row 1 are not compared (their keys are all masked but their own)
      const d = maxDiff(got, ref);
      expect(d).toBeLessThan(1e-10);
      for (const t of [q, v, kv, context]) t.dispose();
    });
  }

  it('one bucket pair and one round is exact attention over the normalised keys (self at −5e4)', async () => {
    const B = 1;
    const H = 1;
    const D = 4;
    const T = 8;
    const m = new ReformerAttention({ causal: false, heads: H, headDim: D, bucketSize: 4, nHashes: 1 }, 1);
    const qv = randn(T * D);
    const vv = randn(T * D);
    const q = sea.tensor(qv, [B, H, T, D], { dtype: 'float64' });
    const v = sea.tensor(vv, [B, H, T, D], { dtype: 'float64' });
    const { context } = await m.forward(q, q, v);
    const got = (await context.data()) as Float64Array;
    const ref = new Float64Array(T * D);
    for (let t = 0; t < T; t++) {
      const s = Array.from({ length: T }, (_, j) => {
        if (j === t) return -5e4;
        const n = Math.hypot(...qv.subarray(j * D, j * D + D));
        let a = 0;
        for (let f = 0; f < D; f++) a += (qv[t * D + f] * qv[j * D + f]) / n;
        return a / Math.sqrt(D);
      });
      const mx = Math.max(...s);
      const z = s.reduce((a, x) => a + Math.exp(x - mx), 0);
      for (let j = 0; j < T; j++)
        for (let f = 0; f < D; f++) ref[t * D + f] += (Math.exp(s[j] - mx) / z) * vv[j * D + f];
    }
    expect(maxDiff(got, ref)).toBeLessThan(1e-12);
    for (const t of [q, v, context]) t.dispose();
  });

  it('rejects bad shapes with the shape in the message', async () => {
    const m = new ReformerAttention({ causal: true, heads: 2, headDim: 4, bucketSize: 2, nHashes: 2 });
    const q = sea.zeros([1, 3, 5, 4]);
    await expect(m.forward(q, q, q)).rejects.toThrow(/q must be \[B, 2, T, 4\], got \[1,3,5,4\]/);
    q.dispose();
    expect(
      () => new ReformerAttention({ causal: true, heads: 2, headDim: 4, bucketSize: 0, nHashes: 2 }),
    ).toThrow(/bucketSize/);
  });
});

/** cosFormer by its definition: Σ_j relu(q')·relu(k')·cos(π/2·(i−j)/T)·v'_j / max(Σ_j …, 1e-6). */
function cosReference(
  w: Record<string, Float64Array>,
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  B: number,
  H: number,
  T: number,
  D: number,
  causal: boolean,
  valid: Uint8Array | null,
): Float64Array {
  const C = H * D;
  const at = (x: Float64Array, b: number, t: number) => {
    const r = new Float64Array(C);
    for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) r[h * D + d] = x[((b * H + h) * T + t) * D + d];
    return r;
  };
  const lin = (x: Float64Array, n: string) => {
    const W = w[`cosformer.${n}_proj.weight`];
    const bb = w[`cosformer.${n}_proj.bias`];
    return Float64Array.from({ length: C }, (_, o) => {
      let s = bb[o];
      for (let i = 0; i < C; i++) s += W[o * C + i] * x[i];
      return s;
    });
  };
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++) {
    const Q = Array.from({ length: T }, (_, t) => lin(at(q, b, t), 'q').map((x) => Math.max(x, 0)));
    const K = Array.from({ length: T }, (_, t) => lin(at(k, b, t), 'k').map((x) => Math.max(x, 0)));
    const V = Array.from({ length: T }, (_, t) => lin(at(v, b, t), 'v'));
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const num = new Float64Array(D);
        let den = 0;
        for (let j = 0; j < T; j++) {
          if ((causal && j > i) || (valid && !valid[b * T + j])) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += Q[i][h * D + d] * K[j][h * D + d];
          const a = dot * Math.cos(((Math.PI / 2) * (i - j)) / T);
          den += a;
          for (let d = 0; d < D; d++) num[d] += a * V[j][h * D + d];
        }
        den = Math.max(den, 1e-6);
        for (let d = 0; d < D; d++) out[(b * T + i) * C + h * D + d] = num[d] / den;
      }
    }
  }
  return out;
}

describe('CosformerAttention', () => {
  for (const causal of [true, false]) {
    it(`matches the cos-re-weighted linear attention definition in float64 (${causal ? 'causal' : 'bidirectional'}, padding)`, async () => {
      const B = 2;
      const H = 2;
      const D = 4;
      const T = 9;
      const C = H * D;
      const wv: Record<string, Float64Array> = {};
      const wt: Record<string, Tensor> = {};
      for (const n of COSFORMER_WEIGHTS) {
        const shape = n.endsWith('weight') ? [C, C] : [C];
        wv[n] = randn(
          shape.reduce((a, b) => a * b, 1),
          0.5,
        );
        wt[n] = sea.tensor(wv[n], shape, { dtype: 'float64' }).keep();
      }
      const m = CosformerAttention.fromWeights({ causal, heads: H, headDim: D }, wt);
      expect(m.parameterCount()).toBe(3 * (C * C + C));
      const [qv, kv, vv] = [randn(B * H * T * D), randn(B * H * T * D), randn(B * H * T * D)];
      const valid = new Uint8Array(B * T).fill(1);
      for (let t = 6; t < T; t++) valid[T + t] = 0;
      const mk = (x: Float64Array) => sea.tensor(x, [B, H, T, D], { dtype: 'float64' });
      const [q, k, v] = [mk(qv), mk(kv), mk(vv)];
      const keyValid = sea.tensor(valid, [B, T], { dtype: 'bool' });
      const { context } = await m.forward(q, k, v, { keyValid });
      const ref = cosReference(wv, qv, kv, vv, B, H, T, D, causal, valid);
      const got = (await context.data()) as Float64Array;
      // bidirectional: padded rows are not used downstream but are defined the same way
      expect(maxDiff(got, ref)).toBeLessThan(1e-12);
      for (const t of [q, k, v, keyValid, context]) t.dispose();
      m.dispose();
    });
  }

  it('create: nn.Linear-style init within ±1/√C; fromWeights names a missing or misshaped tensor', () => {
    const m = CosformerAttention.create({ causal: true, heads: 2, headDim: 4 }, { seed: 3 });
    const w = m.weights['cosformer.k_proj.weight'].dataSync();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.2);
    m.dispose();
    expect(() => CosformerAttention.fromWeights({ causal: true, heads: 2, headDim: 4 }, {})).toThrow(
      /missing weight 'cosformer.q_proj.weight' \[8,8\]/,
    );
  });
});
