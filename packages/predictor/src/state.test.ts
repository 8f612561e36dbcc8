// The incremental causal estimator against the whole-sequence estimateAttention, row by row. The
// whole-sequence estimator is itself checked against the float64 spec re-derivation (estimate.test.ts).
import { CpuBackend } from '@sea/backend-cpu';
import { assertClose, toleranceFor } from '@sea/conformance';
import {
  orthogonalRandomProjection,
  performerFeatureCount,
  setFusedDecodeSteps,
} from '@sea/linear-attention';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import type { PredictorConfig } from './config.js';
import { estimateAttention } from './estimate.js';
import { estimatePrefill, estimateStep, PredictorState } from './state.js';
import { disposePredictorWeights, initPredictorWeights } from './weights.js';

const backend = new CpuBackend();

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(scale, 1e-30);
}

/** Row t of x [B, H, T, X] as a flat array. */
function row(x: Float32Array, B: number, H: number, T: number, X: number, t: number): Float32Array {
  const o = new Float32Array(B * H * X);
  for (let bh = 0; bh < B * H; bh++) o.set(x.subarray((bh * T + t) * X, (bh * T + t + 1) * X), bh * X);
  return o;
}

describe('incremental causal estimator', () => {
  const cfg: PredictorConfig = { causal: true, heads: 3, headDim: 6, predictorLength: 20, maxPositions: 64 };
  for (const prompt of [1, 3, 9]) {
    it(`prompt of ${prompt} rows, then one row at a time, equals estimateAttention at every row`, async () => {
      const [B, H, T, D, K] = [2, cfg.heads, 37, cfg.headDim, cfg.predictorLength];
      const weights = initPredictorWeights(cfg, { seed: 7 + prompt, backend });
      const m = performerFeatureCount(D, 1);
      const projection = sea.tensor(orthogonalRandomProjection(m, D, new Rng(5)), [m, D], { backend });
      const rng = new Rng(11 + prompt);
      const mk = () =>
        sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D), 0, 1), [B, H, T, D], { backend });
      const [q, k, v] = [mk(), mk(), mk()];
      const full = estimateAttention(cfg, weights, { q, k, v, projection });
      const fl = (await full.logits.data()) as Float32Array;
      const fp = (await full.sProb.data()) as Float32Array;
      const fm = (await full.sMix.data()) as Float32Array;
      const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [B, H, n, D]);
      const pre = estimatePrefill(cfg, weights, {
        q: rows(q, 0, prompt),
        k: rows(k, 0, prompt),
        v: rows(v, 0, prompt),
        projection,
      });
      const pl = (await pre.estimate.logits.data()) as Float32Array;
      for (let t = 0; t < prompt; t++) {
        expect(relErr(row(pl, B, H, prompt, K, t), row(fl, B, H, T, K, t))).toBeLessThan(1e-6);
      }
      let worst = 0;
      for (let t = prompt; t < T; t++) {
        const est = estimateStep(cfg, weights, pre.state, {
          q: rows(q, t, 1),
          k: rows(k, t, 1),
          v: rows(v, t, 1),
          projection,
          positions: [t, t],
        });
        worst = Math.max(
          worst,
          relErr((await est.logits.data()) as Float32Array, row(fl, B, H, T, K, t)),
          relErr((await est.sProb.data()) as Float32Array, row(fp, B, H, T, 1, t)),
          relErr((await est.sMix.data()) as Float32Array, row(fm, B, H, T, 1, t)),
        );
        est.logits.dispose();
        est.sProb.dispose();
        est.sMix.dispose();
      }
      expect(worst).toBeLessThan(1e-5);
      // the state does not grow with T: S, z, and two 4-row windows
      const C = 2 * H;
      // built once per state (the step primitives need no edge columns, which the composed ops build)
      const constants = m * D + 1 + H + 2 * C * C * 9 + K * (K / 4 + 2);
      expect(pre.state.bytes()).toBe(
        (B * H * m * 2 * D + B * H * m + 2 * B * 2 * H * 4 * (K / 4) + constants) * 4,
      );
      pre.state.dispose();
      disposePredictorWeights(weights);
    });
  }

  for (const dtype of ['bfloat16', 'float16'] as const) {
    it(`${dtype}, composed step ops: every row equals the ${dtype} estimateAttention within the tolerance table`, async () => {
      setFusedDecodeSteps(false);
      try {
        await composed16(dtype);
      } finally {
        setFusedDecodeSteps(true);
      }
    });
    it(`${dtype}, fused step primitives: each row as accurate as the ${dtype} estimateAttention against float32`, async () => {
      await fused16(dtype);
    });
  }

  /**
   * The fused steps round once where the composed ops round after each op, so they are held to
   * accuracy, not to equality: against estimateAttention in float32 on the same (16-bit) weights and
   * inputs, the incremental rows' error is at most 2 × the 16-bit whole-sequence error + u, in the
   * worst row and on average (logits: over each row's values, unit scale; scalers likewise).
   */
  async function fused16(dtype: 'bfloat16' | 'float16'): Promise<void> {
    const [B, H, T, D, P] = [2, cfg.heads, 41, cfg.headDim, 5];
    const w32 = initPredictorWeights(cfg, { seed: 21, backend });
    const weights = Object.fromEntries(
      Object.entries(w32).map(([n, t]) => [n, sea.cast(t, dtype).keep()]),
    ) as typeof w32;
    const wRef = Object.fromEntries(
      Object.entries(weights).map(([n, t]) => [n, sea.cast(t, 'float32').keep()]),
    ) as typeof w32;
    disposePredictorWeights(w32);
    const m = performerFeatureCount(D, 1);
    const proj32 = sea.tensor(orthogonalRandomProjection(m, D, new Rng(6)), [m, D], { backend });
    const projection = sea.cast(proj32, dtype);
    const projRef = sea.cast(projection, 'float32');
    const rng = new Rng(19);
    const mk = () =>
      sea.cast(
        sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D), 0, 1), [B, H, T, D], { backend }),
        dtype,
      );
    const [q, k, v] = [mk(), mk(), mk()];
    const f32 = (x: sea.Tensor) => sea.cast(x, 'float32');
    const ref = estimateAttention(cfg, wRef, { q: f32(q), k: f32(k), v: f32(v), projection: projRef });
    const full = estimateAttention(cfg, weights, { q, k, v, projection });
    const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [B, H, n, D]);
    const pre = estimatePrefill(cfg, weights, {
      q: rows(q, 0, P),
      k: rows(k, 0, P),
      v: rows(v, 0, P),
      projection,
    });
    const outs = ['logits', 'sProb', 'sMix'] as const;
    const refs = await Promise.all(outs.map(async (n) => Float64Array.from(await ref[n].data())));
    const fulls = await Promise.all(outs.map(async (n) => Float64Array.from(await full[n].data())));
    const errInc: number[][] = [[], [], []];
    const errFull: number[][] = [[], [], []];
    for (let t = P; t < T; t++) {
      const est = estimateStep(cfg, weights, pre.state, {
        q: rows(q, t, 1),
        k: rows(k, t, 1),
        v: rows(v, t, 1),
        projection,
        positions: [t, t],
      });
      expect(est.logits.dtype).toBe(dtype);
      for (const [i, n] of outs.entries()) {
        const X = n === 'logits' ? cfg.predictorLength : 1;
        const want = row(Float32Array.from(refs[i]), B, H, T, X, t);
        errInc[i].push(relErr(Float64Array.from(await est[n].data()), want));
        errFull[i].push(relErr(row(Float32Array.from(fulls[i]), B, H, T, X, t), want));
        est[n].dispose();
      }
    }
    const u = sea.unitRoundoff(dtype);
    const max = (a: number[]) => Math.max(...a);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    for (const [i, n] of outs.entries()) {
      expect(max(errInc[i]), `${n}: worst row`).toBeLessThanOrEqual(2 * max(errFull[i]) + u);
      expect(mean(errInc[i]), `${n}: mean over rows`).toBeLessThanOrEqual(2 * mean(errFull[i]) + u);
    }
    pre.state.dispose();
    disposePredictorWeights(weights);
    disposePredictorWeights(wRef);
    for (const t of [
      proj32,
      projection,
      projRef,
      q,
      k,
      v,
      ref.logits,
      ref.sProb,
      ref.sMix,
      full.logits,
      full.sProb,
      full.sMix,
    ])
      t.dispose();
  }

  async function composed16(dtype: 'bfloat16' | 'float16'): Promise<void> {
    {
      const [B, H, T, D, K, P] = [2, cfg.heads, 41, cfg.headDim, cfg.predictorLength, 5];
      const w32 = initPredictorWeights(cfg, { seed: 21, backend });
      const weights = Object.fromEntries(
        Object.entries(w32).map(([n, t]) => [n, sea.cast(t, dtype).keep()]),
      ) as typeof w32;
      disposePredictorWeights(w32);
      const m = performerFeatureCount(D, 1);
      const projection = sea.cast(
        sea.tensor(orthogonalRandomProjection(m, D, new Rng(6)), [m, D], { backend }),
        dtype,
      );
      const rng = new Rng(19);
      const mk = () =>
        sea.cast(
          sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D), 0, 1), [B, H, T, D], { backend }),
          dtype,
        );
      const [q, k, v] = [mk(), mk(), mk()];
      const full = estimateAttention(cfg, weights, { q, k, v, projection });
      expect(full.logits.dtype).toBe(dtype);
      const fl = Float32Array.from(await full.logits.data());
      const fp = Float32Array.from(await full.sProb.data());
      const fm = Float32Array.from(await full.sMix.data());
      const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [B, H, n, D]);
      const pre = estimatePrefill(cfg, weights, {
        q: rows(q, 0, P),
        k: rows(k, 0, P),
        v: rows(v, 0, P),
        projection,
      });
      // Â logits are LayerNorm outputs (unit scale per row); the scalers are sigmoids in (0, 1)
      const tol = toleranceFor(dtype, T);
      const unit = (n: number) => new Float64Array(n).fill(1);
      for (let t = P; t < T; t++) {
        const est = estimateStep(cfg, weights, pre.state, {
          q: rows(q, t, 1),
          k: rows(k, t, 1),
          v: rows(v, t, 1),
          projection,
          positions: [t, t],
        });
        expect(est.logits.dtype).toBe(dtype);
        assertClose(
          await est.logits.data(),
          row(fl, B, H, T, K, t),
          tol,
          `logits row ${t}`,
          [B, H, 1, K],
          unit(B * H * K),
        );
        assertClose(
          await est.sProb.data(),
          row(fp, B, H, T, 1, t),
          tol,
          `sProb row ${t}`,
          [B, H, 1],
          unit(B * H),
        );
        assertClose(
          await est.sMix.data(),
          row(fm, B, H, T, 1, t),
          tol,
          `sMix row ${t}`,
          [B, H, 1],
          unit(B * H),
        );
        est.logits.dispose();
        est.sProb.dispose();
        est.sMix.dispose();
      }
      pre.state.dispose();
      disposePredictorWeights(weights);
    }
  }

  it('sequences of different lengths step together after per-sequence prefills', async () => {
    const [H, D, K] = [cfg.heads, cfg.headDim, cfg.predictorLength];
    const weights = initPredictorWeights(cfg, { seed: 2, backend });
    const m = performerFeatureCount(D, 1);
    const projection = sea.tensor(orthogonalRandomProjection(m, D, new Rng(4)), [m, D], { backend });
    const rng = new Rng(8);
    const lens = [6, 13];
    const steps = 9;
    const seqs = lens.map((L) => {
      const n = H * (L + steps) * D;
      const mk = () =>
        sea.tensor(rng.fillNormal(new Float32Array(n), 0, 1), [1, H, L + steps, D], { backend });
      return { L, q: mk(), k: mk(), v: mk() };
    });
    const fulls = await Promise.all(
      seqs.map(
        async (s) =>
          (await estimateAttention(cfg, weights, { ...s, projection }).logits.data()) as Float32Array,
      ),
    );
    const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [1, H, n, D]);
    const state = PredictorState.concat(
      seqs.map(
        (s) =>
          estimatePrefill(cfg, weights, {
            q: rows(s.q, 0, s.L),
            k: rows(s.k, 0, s.L),
            v: rows(s.v, 0, s.L),
            projection,
          }).state,
      ),
    );
    for (let i = 0; i < steps; i++) {
      const pick = (name: 'q' | 'k' | 'v') =>
        sea.concat(
          seqs.map((s) => rows(s[name], s.L + i, 1)),
          0,
        );
      const est = estimateStep(cfg, weights, state, {
        q: pick('q'),
        k: pick('k'),
        v: pick('v'),
        projection,
        positions: lens.map((L) => L + i),
      });
      const got = (await est.logits.data()) as Float32Array;
      for (let b = 0; b < 2; b++) {
        const T = lens[b] + steps;
        expect(
          relErr(got.subarray(b * H * K, (b + 1) * H * K), row(fulls[b], 1, H, T, K, lens[b] + i)),
        ).toBeLessThan(1e-5);
      }
    }
    state.dispose();
    disposePredictorWeights(weights);
  });

  it('names a position past the table', () => {
    const weights = initPredictorWeights(cfg, { seed: 1, backend });
    const m = performerFeatureCount(cfg.headDim, 1);
    const projection = sea.tensor(orthogonalRandomProjection(m, cfg.headDim, new Rng(4)), [m, cfg.headDim], {
      backend,
    });
    const x = sea.zeros([1, cfg.heads, 1, cfg.headDim], { backend });
    const { state } = estimatePrefill(cfg, weights, { q: x, k: x, v: x, projection });
    expect(() =>
      estimateStep(cfg, weights, state, { q: x, k: x, v: x, projection, positions: [64] }),
    ).toThrow(/position 64 of sequence 0 is outside the position table's 64 rows/);
    state.dispose();
  });
});
