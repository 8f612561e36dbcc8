// Gradients of the SEA attention module (dense path) with its mask held fixed, in float64.

import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, it } from 'vitest';
import { initSeaWeights, type OptConfig, seaCausalAttention, seaLayerLoss, type Weights } from './index.js';
import { gradCheck, randn } from './test/gradcheck.js';

const cfg: OptConfig = { vocabSize: 8, hidden: 8, layers: 1, heads: 2, ffn: 8, maxPositions: 8, eps: 1e-5 };
const o = { k: 2, predictorLength: 4, nbf: 2 };

describe('SEA causal attention (dense path, mask fixed)', () => {
  const B = 1;
  const H = 2;
  const T = 6;
  const D = 4;
  const seaW = initSeaWeights(cfg, o, 7, 'float64');
  for (const t of Object.values(seaW)) t.keep();
  const names = [
    'perlin_encoder.weight',
    'perlin_scaler.weight',
    'perlin_nu.weight',
    'perlin_cnn_conv1.weight',
    'perlin_cnn_conv4.bias',
    'perlin_cnn_norm_out.weight',
  ];
  const teacherLogits = randn(B * H * T * T);
  const mask = new Float64Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e30;
  const teacherCtx = randn(B * T * H * D);

  it('q, k, v and predictor weights through L_layer (approx + prob + context)', () => {
    const attn = seaCausalAttention(cfg, o, () => w);
    attn.frozen = new Map();
    let w: Weights = { ...seaW };
    const full = 'model.decoder.layers.0.self_attn.';
    // select the mask once (from other random inputs) and hold it fixed for the whole check
    sea.tidy(() => {
      const x = () => sea.tensor(randn(B * H * T * D), [B, H, T, D], { dtype: 'float64' });
      attn.attention({
        layer: 0,
        q: x(),
        k: x(),
        v: x(),
        mask: sea.tensor(mask, [1, 1, T, T], { dtype: 'float64' }),
      });
    });
    gradCheck(
      [
        { shape: [B, H, T, D] },
        { shape: [B, H, T, D] },
        { shape: [B, H, T, D] },
        ...names.map((n) => ({
          shape: [...seaW[full + n].shape],
          values: Float64Array.from(seaW[full + n].dataSync()),
        })),
      ],
      (q, k, v, ...ps) => {
        w = { ...seaW };
        names.forEach((n, i) => {
          w[full + n] = ps[i];
        });
        const m = sea.tensor(mask, [1, 1, T, T], { dtype: 'float64' });
        const out = attn.attention({ layer: 0, q, k, v, mask: m });
        const l = seaLayerLoss({
          teacherLogits: sea.tensor(teacherLogits, [B, H, T, T], { dtype: 'float64' }),
          approxLogits: out.approxLogits as Tensor,
          studentScores: out.scores as Tensor,
          mask: m,
          teacherContext: sea.tensor(teacherCtx, [B, T, H * D], { dtype: 'float64' }),
          context: out.context,
          causal: true,
        });
        return l.total.reshape([1]);
      },
      { atol: 1e-6, rtol: 1e-5 },
    );
  });
});
