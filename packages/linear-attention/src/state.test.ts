// The incremental causal Performer against the whole-sequence forward, row by row.
import { CpuBackend } from '@sea/backend-cpu';
import { assertClose, toleranceFor } from '@sea/conformance';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { performerAttention } from './performer.js';
import { orthogonalRandomProjection } from './projection.js';
import { causalPerformerPrefill, causalPerformerStep, setFusedDecodeSteps } from './state.js';

const backend = new CpuBackend();

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / scale;
}

describe('causal Performer state', () => {
  for (const fused of [true, false])
    it(`a prefix table's row leads the value row in every head (${fused ? 'performerStep' : 'composed ops'})`, async () => {
      // the same step with the row spelt out: [table[rows[b]] broadcast over the heads ; v]
      const [B, H, D, E, P, N] = [2, 3, 6, 4, 5, 9];
      const rng = new Rng(17);
      const mk = (shape: number[]) =>
        sea.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, 1), shape, {
          backend,
        });
      const m = 11;
      const w = sea.tensor(orthogonalRandomProjection(m, D, new Rng(4)), [m, D], { backend });
      const [q, k] = [mk([B, H, 3, D]), mk([B, H, 3, D])];
      const full = mk([B, H, 3, P + E]);
      const table = mk([N, P]);
      const rows = [7, 2];
      const tv = (await table.data()) as Float32Array;
      const v1 = mk([B, H, 1, E]);
      const vv = (await v1.data()) as Float32Array;
      const spelt = new Float32Array(B * H * (P + E));
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++) {
          const o = (b * H + h) * (P + E);
          spelt.set(tv.subarray(rows[b] * P, rows[b] * P + P), o);
          spelt.set(vv.subarray((b * H + h) * E, (b * H + h + 1) * E), o + P);
        }
      const row = (x: sea.Tensor, n: number) => sea.slice(x, [0, 0, 2, 0], [B, H, 1, n]);
      const pre = (x: sea.Tensor) => sea.slice(x, [0, 0, 0, 0], [B, H, 2, x.shape[3]]);
      setFusedDecodeSteps(fused);
      try {
        const a = causalPerformerPrefill(pre(q), pre(k), pre(full), w);
        const b = causalPerformerPrefill(pre(q), pre(k), pre(full), w);
        const got = await causalPerformerStep(a.state, row(q, D), row(k, D), v1, w, { table, rows }).data();
        const want = await causalPerformerStep(
          b.state,
          row(q, D),
          row(k, D),
          sea.tensor(spelt, [B, H, 1, P + E], { backend }),
          w,
        ).data();
        expect(relErr(got as Float32Array, want as Float32Array)).toBeLessThan(1e-6);
        expect(
          relErr((await a.state.sums.data()) as Float32Array, (await b.state.sums.data()) as Float32Array),
        ).toBeLessThan(1e-6);
        a.state.dispose();
        b.state.dispose();
      } finally {
        setFusedDecodeSteps(true);
      }
    });

  it('prefill + one row at a time equals the whole-sequence forward at every row', async () => {
    const [B, H, T, D, E, P] = [2, 3, 41, 7, 11, 5];
    const rng = new Rng(3);
    const mk = (n: number) => rng.fillNormal(new Float32Array(n), 0, 1) as Float32Array;
    const q = sea.tensor(mk(B * H * T * D), [B, H, T, D], { backend });
    const k = sea.tensor(mk(B * H * T * D), [B, H, T, D], { backend });
    const v = sea.tensor(mk(B * H * T * E), [B, H, T, E], { backend });
    const m = 13;
    const w = sea.tensor(orthogonalRandomProjection(m, D, new Rng(9)), [m, D], { backend });
    const full = (await performerAttention(q, k, v, { causal: true, projection: w }).data()) as Float32Array;
    const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [B, H, n, x.shape[3]]);
    const pre = causalPerformerPrefill(rows(q, 0, P), rows(k, 0, P), rows(v, 0, P), w);
    const preOut = (await pre.out.data()) as Float32Array;
    const want = (t: number) => {
      const o = new Float32Array(B * H * E);
      for (let bh = 0; bh < B * H; bh++) o.set(full.subarray((bh * T + t) * E, (bh * T + t + 1) * E), bh * E);
      return o;
    };
    for (let t = 0; t < P; t++) {
      const got = new Float32Array(B * H * E);
      for (let bh = 0; bh < B * H; bh++)
        got.set(preOut.subarray((bh * P + t) * E, (bh * P + t + 1) * E), bh * E);
      expect(relErr(got, want(t))).toBeLessThan(1e-6);
    }
    let worst = 0;
    for (let t = P; t < T; t++) {
      const out = sea.tidy(() =>
        causalPerformerStep(pre.state, rows(q, t, 1), rows(k, t, 1), rows(v, t, 1), w),
      );
      worst = Math.max(worst, relErr((await out.data()) as Float32Array, want(t)));
      out.dispose();
    }
    expect(worst).toBeLessThan(1e-5);
    // [S | z + eps] float32, plus the scaled projection [m, D] and the eps the features add
    expect(pre.state.bytes()).toBe((B * H * m * E + B * H * m) * 4 + (m * D + 1) * 4);
    pre.state.dispose();
  });

  for (const dtype of ['bfloat16', 'float16'] as const) {
    it(`${dtype}: every row equals the ${dtype} whole-sequence forward within the tolerance table`, async () => {
      const [B, H, T, D, E, P] = [2, 3, 45, 7, 11, 4];
      const rng = new Rng(13);
      const mk = (shape: number[]) =>
        sea.cast(
          sea.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b)), 0, 1), shape, {
            backend,
          }),
          dtype,
        );
      const [q, k, v] = [mk([B, H, T, D]), mk([B, H, T, D]), mk([B, H, T, E])];
      const m = 13;
      const w = sea.cast(
        sea.tensor(orthogonalRandomProjection(m, D, new Rng(2)), [m, D], { backend }),
        dtype,
      );
      const fullT = performerAttention(q, k, v, { causal: true, projection: w });
      expect(fullT.dtype).toBe(dtype);
      const full = Float64Array.from(await fullT.data());
      const rows = (x: sea.Tensor, a: number, n: number) => sea.slice(x, [0, 0, a, 0], [B, H, n, x.shape[3]]);
      const pre = causalPerformerPrefill(rows(q, 0, P), rows(k, 0, P), rows(v, 0, P), w);
      // one row's values: the sums run over t + 1 terms in float32, the result is rounded to 16 bits
      for (let t = P; t < T; t++) {
        const out = causalPerformerStep(pre.state, rows(q, t, 1), rows(k, t, 1), rows(v, t, 1), w);
        expect(out.dtype).toBe(dtype);
        const got = await out.data();
        const want = new Float64Array(B * H * E);
        for (let bh = 0; bh < B * H; bh++)
          want.set(full.subarray((bh * T + t) * E, (bh * T + t + 1) * E), bh * E);
        // each element against its row's scale (a ratio of sums of positive weights times v)
        const scale = new Float64Array(want.length);
        for (let bh = 0; bh < B * H; bh++) {
          let s = 0;
          for (let e = 0; e < E; e++) s = Math.max(s, Math.abs(want[bh * E + e]));
          scale.fill(s, bh * E, (bh + 1) * E);
        }
        assertClose(got, want, toleranceFor(dtype, t + 1), `${dtype} row ${t}`, [B, H, 1, E], scale);
        out.dispose();
      }
      // the sums are float32 whatever the inputs' dtype
      expect(pre.state.sums.dtype).toBe('float32');
      pre.state.dispose();
    });
  }

  it('rejects more than one new row', () => {
    const w = sea.tensor(orthogonalRandomProjection(4, 3, new Rng(1)), [4, 3], { backend });
    const x = sea.zeros([1, 2, 3, 3], { backend });
    const { state } = causalPerformerPrefill(x, x, x, w);
    expect(() => causalPerformerStep(state, x, x, x, w)).toThrow(/one new row/);
    state.dispose();
  });
});
