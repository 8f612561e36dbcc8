// The official options that change the paper's tables: partial_attention_scaler off (the sparse
// softmax without the s_prob row scale) against a float64 definition written here, and k_oversample
// (budgets at k·k_os, the dense path's thinning of spec §6 worked through by hand).
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { thinOversampled } from './attend.js';
import { SeaAttention, type SeaAttentionConfig } from './index.js';

sea.useBackend(new CpuBackend());

function qkv(seed: number, B: number, H: number, T: number, D: number): sea.Tensor[] {
  const rng = new sea.Rng(seed);
  return [0, 1, 2].map(() => sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D)), [B, H, T, D]));
}

describe('partialAttentionScaler: false', () => {
  it('with every key selected, C_sea = s_mix·softmax(QKᵀ)V + (1 − s_mix)·running mean of V (float64 reference)', async () => {
    const [B, H, T, D] = [1, 2, 12, 4];
    // K = 4 cells, k large: every cell of every row is selected, so the local attention is exact
    const cfg: SeaAttentionConfig = {
      causal: true,
      heads: H,
      headDim: D,
      predictorLength: 4,
      k: 64,
      nbFeatureFactor: 1,
      maxPositions: 32,
      partialAttentionScaler: false,
    };
    const layer = SeaAttention.create(cfg, { seed: 1 });
    const [q, k, v] = qkv(2, B, H, T, D);
    const out = await layer.forward(q, k, v, { path: 'dense', returnTraining: true });
    const tr = out.training as NonNullable<typeof out.training>;
    const sProb = await tr.sProb.data();
    expect(Array.from(sProb).every((x) => x === 1)).toBe(true);
    const [qv, kv, vv, sMix, ctx] = await Promise.all([
      q.data(),
      k.data(),
      v.data(),
      tr.sMix.data(),
      out.context.data(),
    ]);
    let worst = 0;
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const base = h * T;
        const s = Array.from({ length: t + 1 }, (_, j) => {
          let a = 0;
          for (let d = 0; d < D; d++) a += qv[(base + t) * D + d] * kv[(base + j) * D + d];
          return a;
        });
        const mx = Math.max(...s);
        const z = s.reduce((a, x) => a + Math.exp(x - mx), 0);
        const m = sMix[base + t];
        for (let d = 0; d < D; d++) {
          let local = 0;
          let mean = 0;
          for (let j = 0; j <= t; j++) {
            local += (Math.exp(s[j] - mx) / z) * vv[(base + j) * D + d];
            mean += vv[(base + j) * D + d] / (t + 1);
          }
          const ref = m * local + (1 - m) * mean;
          worst = Math.max(worst, Math.abs(ctx[t * H * D + h * D + d] - ref));
        }
      }
    }
    expect(worst).toBeLessThan(2e-6);
    // the plain (sparse) path agrees with the training path
    const plain = await layer.forward(q, k, v, { path: 'sparse' });
    const pv = await plain.context.data();
    for (let i = 0; i < pv.length; i++) expect(Math.abs(pv[i] - ctx[i])).toBeLessThan(1e-5);
    for (const t of [q, k, v, out.context, plain.context, ...Object.values(tr)]) t.dispose();
    layer.dispose();
  });

  it('is validated', () => {
    expect(() =>
      SeaAttention.create({
        causal: true,
        heads: 1,
        headDim: 4,
        predictorLength: 4,
        k: 2,
        nbFeatureFactor: 1,
        partialAttentionScaler: 'no' as unknown as boolean,
      }),
    ).toThrow(/partialAttentionScaler must be a boolean/);
  });
});

describe('kOversample', () => {
  it('thinning (spec §6): L = 20, k = 2, k_os = 2 → p = 10, o = 2: keeps the odd keys (10 of 20)', async () => {
    const T = 20;
    const keep = sea.tensor(new Uint8Array(T * T).fill(1), [1, 1, T, T], { dtype: 'bool' });
    const rowLen = new Int32Array(T).fill(T);
    const thin = thinOversampled(keep, 2, 2, rowLen);
    const v = await thin.data();
    const row = Array.from(v.subarray(0, T));
    expect(row).toEqual(Array.from({ length: T }, (_, x) => (x % 2 === 1 ? 1 : 0)));
    thin.dispose();
    // k_os = 1 keeps the mask itself
    const same = sea.tensor(new Uint8Array(4).fill(1), [1, 1, 2, 2], { dtype: 'bool' });
    expect(thinOversampled(same, 2, 1, new Int32Array(2).fill(2))).toBe(same);
    same.dispose();
  });

  it('budgets at k·k_os: the dense mask of k = 2, k_os = 2 is the k = 4 selection thinned', async () => {
    const base: SeaAttentionConfig = {
      causal: true,
      heads: 2,
      headDim: 8,
      predictorLength: 8,
      k: 4,
      nbFeatureFactor: 1,
      maxPositions: 64,
    };
    const [B, H, T, D] = [1, 2, 40, 8];
    const a = SeaAttention.create(base, { seed: 5 });
    const b = SeaAttention.fromWeights({ ...base, k: 2, kOversample: 2 }, a.weights);
    const [q, k, v] = qkv(6, B, H, T, D);
    const ra = await a.forward(q, k, v, { path: 'dense', returnTraining: true });
    const rb = await b.forward(q, k, v, { path: 'dense', returnTraining: true });
    const ma = await (ra.training as { mask: sea.Tensor }).mask.data();
    const mb = await (rb.training as { mask: sea.Tensor }).mask.data();
    let kept = 0;
    let selected = 0;
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const L = t + 1;
        const p = Math.max(1, Math.round(L / 2));
        const o = Math.min(Math.max(L, 2), 4) / 2;
        for (let x = 0; x < T; x++) {
          const i = (h * T + t) * T + x;
          const y = ((x + 1) * p) / L;
          const r = Math.abs(y - Math.round(y)) === 0.5 ? 2 * Math.round(y / 2) : Math.round(y);
          const thinKeep = x < L && Math.abs(y - r) <= 0.5 / o + 1e-4;
          expect(mb[i], `h ${h} t ${t} x ${x}`).toBe(ma[i] && thinKeep ? 1 : 0);
          kept += mb[i];
          selected += ma[i];
        }
      }
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(selected);
    expect(() => SeaAttention.create({ ...base, k: 3, kOversample: 1.5 })).toThrow(/kOversample/);
    for (const t of [
      q,
      k,
      v,
      ra.context,
      rb.context,
      ...Object.values(ra.training ?? {}),
      ...Object.values(rb.training ?? {}),
    ])
      t.dispose();
    b.dispose();
  });
});
