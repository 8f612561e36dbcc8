// attendWithEstimate (docs/algorithm.md §5–§7 after the estimator) against the float64 reference in
// test/reference.ts, on random Q, K, V, Â and scalers.
import { CpuBackend } from '@sea/backend-cpu';
import { csrToDense } from '@sea/mask';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { type Mode, type RefInputs, refSea, relErr, softmaxRows } from '../test/reference.js';
import { attendWithEstimate } from './index.js';

const backend = new CpuBackend();
sea.useBackend(backend);

function randomInputs(
  seed: number,
  B: number,
  H: number,
  T: number,
  D: number,
  K: number,
  lengths: number[],
): RefInputs {
  const rng = new sea.Rng(seed);
  const f32 = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
  const logits = new Float64Array(B * H * T * K).map(() => 2 * rng.normal());
  const probs = Float32Array.from(softmaxRows(logits, K));
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) probs.fill(0, ((b * H + h) * T + lengths[b]) * K, (b * H + h + 1) * T * K);
  return {
    B,
    H,
    T,
    D,
    K,
    q: f32(B * H * T * D),
    k: f32(B * H * T * D),
    v: f32(B * H * T * D),
    probs,
    sProb: Float32Array.from({ length: B * H * T }, () => rng.uniform()),
    sMix: Float32Array.from({ length: B * H * T }, () => rng.uniform()),
  };
}

async function run(
  x: RefInputs,
  causal: boolean,
  mode: Mode,
  k: number,
  lengths: number[],
  path: 'dense' | 'sparse',
  scale: number,
) {
  const { B, H, T, D, K } = x;
  const t4 = (a: ArrayLike<number>, last: number) => sea.tensor(Float32Array.from(a), [B, H, T, last]);
  const [q, kk, v] = [t4(x.q, D), t4(x.k, D), t4(x.v, D)];
  const probs = t4(x.probs, K);
  const sProb = sea.tensor(Float32Array.from(x.sProb), [B, H, T]);
  const sMix = sea.tensor(Float32Array.from(x.sMix), [B, H, T]);
  const res = await attendWithEstimate(
    q,
    kk,
    v,
    { probs, sProb, sMix },
    {
      causal,
      k,
      topkMode: mode,
      scoreScale: scale,
      path,
      lengths,
      returnMask: true,
    },
  );
  const context = await res.context.data();
  let maskDense: Uint8Array;
  if (res.mask instanceof sea.CsrMatrix) {
    const d = await csrToDense(res.mask);
    maskDense = (await d.data()) as Uint8Array;
    d.dispose();
    res.mask.dispose();
  } else {
    maskDense = (await (res.mask as sea.Tensor).data()) as Uint8Array;
    (res.mask as sea.Tensor).dispose();
  }
  for (const t of [q, kk, v, probs, sProb, sMix, res.context]) t.dispose();
  return { context, maskDense };
}

describe('attendWithEstimate vs the float64 reference of docs/algorithm.md', () => {
  const cases: [string, boolean, Mode, number[], number][] = [
    ['causal, causal_batch', true, 'causal_batch', [24, 24], 1],
    ['causal, causal_batch, padded tail', true, 'causal_batch', [24, 15], 1],
    ['bidirectional, causal_batch, padding', false, 'causal_batch', [24, 13], 0.35],
    ['bidirectional, query, padding', false, 'query', [24, 9], 0.35],
    ['bidirectional, head, padding', false, 'head', [24, 17], 0.35],
    ['bidirectional, batch', false, 'batch', [24, 24], 0.35],
  ];
  for (const [name, causal, mode, lengths, scale] of cases) {
    for (const path of ['sparse', 'dense'] as const) {
      it(`${name}: ${path} path`, async () => {
        const [B, H, T, D, K, k] = [2, 3, 24, 5, 8, 3]; // L/K ≤ 3 = k: cap inactive
        const x = randomInputs(lengths[1] + (causal ? 100 : 0), B, H, T, D, K, lengths);
        const want = refSea(x, { causal, k, mode, scale, lengths, cap: true });
        const got = await run(x, causal, mode, k, lengths, path, scale);
        expect(relErr(got.context, want.context)).toBeLessThan(1e-5);
      });
    }
  }

  it('L/K > k: the sparse path caps cells at k keys, the dense path keeps them whole', async () => {
    const [B, H, T, D, K, k] = [1, 2, 40, 4, 4, 3]; // cells are 10 keys wide at the last rows
    const lengths = [T];
    for (const causal of [true, false]) {
      const x = randomInputs(causal ? 7 : 8, B, H, T, D, K, lengths);
      const o = { causal, k, mode: 'causal_batch' as Mode, scale: 0.5, lengths };
      const sparse = await run(x, causal, o.mode, k, lengths, 'sparse', o.scale);
      const dense = await run(x, causal, o.mode, k, lengths, 'dense', o.scale);
      expect(relErr(sparse.context, refSea(x, { ...o, cap: true }).context)).toBeLessThan(1e-5);
      expect(relErr(dense.context, refSea(x, { ...o, cap: false }).context)).toBeLessThan(1e-5);
      let sparseKeys = 0;
      let denseKeys = 0;
      for (let i = 0; i < sparse.maskDense.length; i++) {
        sparseKeys += sparse.maskDense[i];
        denseKeys += dense.maskDense[i];
        if (sparse.maskDense[i]) expect(dense.maskDense[i]).toBe(1);
      }
      expect(sparseKeys).toBeLessThan(denseKeys);
    }
  });
});
