// SeaAttention's training outputs (dense path, returnTraining): the same context and mask as the plain
// dense path, S = Q·Kᵀ·scale, Â↑ = the logits repeated over each cell's keys (docs/algorithm.md §6 map written out
// here), the visibility mask, a held-fixed mask, per-call weights, and no leaked memory.
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { SeaAttention, type SeaAttentionConfig } from './index.js';

const backend = new CpuBackend();
sea.useBackend(backend);

const FP_MIN = -3.4028234663852886e38 / 2;

function qkv(seed: number, B: number, H: number, T: number, D: number): sea.Tensor[] {
  const rng = new sea.Rng(seed);
  return [0, 1, 2].map(() => sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D)), [B, H, T, D]));
}

const cases: [string, SeaAttentionConfig, number[] | null][] = [
  [
    'causal',
    { causal: true, heads: 2, headDim: 8, predictorLength: 8, k: 3, nbFeatureFactor: 1, maxPositions: 32 },
    null,
  ],
  [
    'bidirectional with padding',
    { causal: false, heads: 2, headDim: 8, predictorLength: 8, k: 3, nbFeatureFactor: 1 },
    [20, 13],
  ],
];

describe('SeaAttention.forward({ path: dense, returnTraining })', () => {
  for (const [name, cfg, lengths] of cases) {
    it(name, async () => {
      const [B, H, T, D, K] = [2, cfg.heads, 20, cfg.headDim, cfg.predictorLength];
      const before = backend.memory().bytes;
      const layer = SeaAttention.create(cfg, { seed: 3 });
      const [q, k, v] = qkv(4, B, H, T, D);
      const keyValid = lengths
        ? sea.tensor(
            Uint8Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0)),
            [B, T],
            { dtype: 'bool' },
          )
        : undefined;
      const plain = await layer.forward(q, k, v, { path: 'dense', keyValid, returnMask: true });
      const tr = await layer.forward(q, k, v, { path: 'dense', keyValid, returnTraining: true });
      const t = tr.training;
      if (!t) throw new Error('no training outputs');
      expect([...(await tr.context.data())]).toEqual([...(await plain.context.data())]);
      expect([...(await t.mask.data())]).toEqual([...(await (plain.mask as sea.Tensor).data())]);
      const qv = await q.data();
      const kv = await k.data();
      const S = await t.studentScores.data();
      const lg = await t.estimateLogits.data();
      const up = await t.estimateLogitsStretched.data();
      const lm = await t.logitMask.data();
      const scale = cfg.causal ? 1 : 1 / Math.sqrt(D);
      expect(t.studentScores.shape).toEqual([B, H, T, T]);
      expect(t.logitMask.shape).toEqual([B, 1, T, T]);
      for (let b = 0; b < B; b++) {
        const Lb = lengths ? lengths[b] : T;
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < T; i++) {
            const L = cfg.causal ? (i < Lb ? i + 1 : 0) : i < Lb ? Lb : 0;
            for (let j = 0; j < T; j++) {
              let s = 0;
              for (let d = 0; d < D; d++)
                s += qv[((b * H + h) * T + i) * D + d] * kv[((b * H + h) * T + j) * D + d];
              const at = ((b * H + h) * T + i) * T + j;
              expect(S[at]).toBeCloseTo(s * scale, 4);
              // docs/algorithm.md §6: key j of a row with L visible keys lies in cell ⌊(j+½)·K/L − 10⁻⁴⌋
              const want =
                j < L ? lg[((b * H + h) * T + i) * K + Math.floor(((j + 0.5) * K) / L - 1e-4)] : FP_MIN;
              expect(up[at]).toBeCloseTo(want, 5);
              const visible = j < Lb && (!cfg.causal || j <= i);
              if (h === 0) expect(lm[(b * T + i) * T + j]).toBe(visible ? 0 : Math.fround(FP_MIN));
            }
          }
        }
      }
      // held fixed: other inputs, the same mask
      const [q2, k2, v2] = qkv(8, B, H, T, D);
      const fixed = await layer.forward(q2, k2, v2, {
        path: 'dense',
        keyValid,
        returnTraining: true,
        fixedMask: t.mask,
      });
      expect([...((await fixed.training?.mask.data()) ?? [])]).toEqual([...(await t.mask.data())]);
      // per-call weights: the layer's own weights give the same context
      const same = await layer.forward(q, k, v, {
        path: 'dense',
        keyValid,
        returnTraining: true,
        weights: layer.weights,
      });
      expect([...(await same.context.data())]).toEqual([...(await tr.context.data())]);
      await expect(layer.forward(q, k, v, { path: 'sparse', returnTraining: true })).rejects.toThrow(/dense/);
      for (const o of [plain, tr, fixed, same]) {
        o.context.dispose();
        (o.mask as sea.Tensor | undefined)?.dispose();
        if (o.training) for (const x of Object.values(o.training)) x.dispose();
      }
      for (const x of [q, k, v, q2, k2, v2, keyValid]) x?.dispose();
      layer.dispose();
      expect(backend.memory().bytes).toBe(before);
    });
  }
});
