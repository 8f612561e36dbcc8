// Gradients of @sea/sparse-attention's SeaAttention (dense training path) through the per-layer SEA
// loss, with its mask held fixed, against finite differences in float64: a causal OPT layer (q
// pre-scaled, scoreScale 1) and a bidirectional BERT layer (scoreScale 1/√D, right padding through
// keyValid, the KL over valid tokens).

import { SeaAttention, type SeaAttentionConfig } from '@sea/sparse-attention';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, it } from 'vitest';
import { seaLayerLoss } from './index.js';
import { gradCheckAsync, randn } from './test/gradcheck.js';

const [B, H, T, D] = [2, 2, 6, 4];
const cases: [string, SeaAttentionConfig, number[] | null][] = [
  [
    'causal (OPT)',
    { causal: true, heads: H, headDim: D, predictorLength: 4, k: 2, nbFeatureFactor: 2, maxPositions: 8 },
    null,
  ],
  [
    'bidirectional (BERT, scoreScale 1/√D, padded)',
    {
      causal: false,
      heads: H,
      headDim: D,
      predictorLength: 4,
      k: 2,
      nbFeatureFactor: 2,
      scoreScale: 1 / Math.sqrt(D),
    },
    [6, 4],
  ],
];

describe.each(cases)('SeaAttention dense path, %s, mask fixed', (_name, config, lengths) => {
  const layer = SeaAttention.create(config, { seed: 7 });
  const w64: Record<string, Tensor> = {};
  for (const [n, t] of Object.entries(layer.weights)) w64[n] = sea.cast(t, 'float64').keep();
  const names = [
    'encoder.linear.weight',
    'scaler.weight',
    'nu.weight',
    'cnn.conv1.weight',
    'cnn.conv_out.bias',
    'cnn.norm_out.weight',
    'position',
  ].filter((n) => n in w64);
  const teacherLogits = randn(B * H * T * T);
  const teacherCtx = randn(B * T * H * D);
  const valid = Array.from({ length: B * T }, (_, i) =>
    !lengths || i % T < lengths[Math.floor(i / T)] ? 1 : 0,
  );
  const keyValid = () =>
    lengths ? sea.tensor(Uint8Array.from(valid), [B, T], { dtype: 'bool' }) : undefined;

  it('q, k, v and predictor weights through L_layer (approx + prob + context)', async () => {
    // select the mask once (from other random inputs) and hold it fixed for the whole check
    const x = () => sea.tensor(randn(B * H * T * D), [B, H, T, D], { dtype: 'float64' });
    const [q0, k0, v0] = [x(), x(), x()];
    const kv0 = keyValid();
    const first = await layer.forward(q0, k0, v0, {
      path: 'dense',
      returnTraining: true,
      weights: w64,
      keyValid: kv0,
    });
    const tr = first.training as NonNullable<typeof first.training>;
    const mask = tr.mask;
    for (const t of [q0, k0, v0, kv0, first.context, ...Object.values(tr)]) if (t && t !== mask) t.dispose();
    await gradCheckAsync(
      [
        { shape: [B, H, T, D] },
        { shape: [B, H, T, D] },
        { shape: [B, H, T, D] },
        ...names.map((n) => ({ shape: [...w64[n].shape], values: Float64Array.from(w64[n].dataSync()) })),
      ],
      async (q, k, v, ...ps) => {
        const weights = { ...w64 };
        names.forEach((n, i) => {
          weights[n] = ps[i];
        });
        const kv = keyValid();
        const out = await layer.forward(q, k, v, {
          path: 'dense',
          returnTraining: true,
          fixedMask: mask,
          weights,
          keyValid: kv,
        });
        kv?.dispose();
        const t = out.training as NonNullable<typeof out.training>;
        const loss = sea.tidy(() =>
          seaLayerLoss({
            teacherLogits: sea.tensor(teacherLogits, [B, H, T, T], { dtype: 'float64' }),
            approxLogits: t.estimateLogitsStretched,
            studentScores: t.studentScores,
            mask: t.logitMask,
            teacherContext: sea.tensor(teacherCtx, [B, T, H * D], { dtype: 'float64' }),
            context: out.context,
            causal: config.causal,
            validRows: sea.tensor(Float64Array.from(valid), [B, T], { dtype: 'float64' }),
          }).total.reshape([1]),
        );
        for (const o of [out.context, ...Object.values(t)]) o.dispose();
        return loss;
      },
      { atol: 1e-6, rtol: 1e-5 },
    );
    mask.dispose();
  });
});
