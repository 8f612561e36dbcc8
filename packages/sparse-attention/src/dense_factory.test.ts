// DenseAttention against float64 softmax attention, createAttention by name, and the official
// checkpoint converter on a synthetic state dict laid out like the official module.
import { CpuBackend } from '@sea/backend-cpu';
import { PerformerAttention, PROJECTION_WEIGHT } from '@sea/linear-attention';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { relErr } from '../test/reference.js';
import {
  convertOfficialWeights,
  createAttention,
  DenseAttention,
  officialWeightNames,
  SeaAttention,
  weightsToTensors,
} from './index.js';

const backend = new CpuBackend();
sea.useBackend(backend);

describe('DenseAttention', () => {
  for (const causal of [true, false]) {
    it(`${causal ? 'causal' : 'bidirectional with key padding'} matches float64 softmax attention`, async () => {
      const [B, H, T, D] = [2, 2, 9, 4];
      const rng = new sea.Rng(causal ? 1 : 2);
      const arr = () => Float32Array.from({ length: B * H * T * D }, () => rng.normal());
      const [qa, ka, va] = [arr(), arr(), arr()];
      const lengths = causal ? [T, T] : [T, 5];
      const layer = new DenseAttention({ causal, heads: H, headDim: D });
      const kv = causal
        ? undefined
        : sea.tensor(
            Array.from({ length: B * T }, (_, i) => i % T < lengths[Math.floor(i / T)]),
            [B, T],
            { dtype: 'bool' },
          );
      const out = await layer.forward(
        sea.tensor(qa, [B, H, T, D]),
        sea.tensor(ka, [B, H, T, D]),
        sea.tensor(va, [B, H, T, D]),
        { keyValid: kv },
      );
      const scale = causal ? 1 : 1 / Math.sqrt(D);
      const want = new Float64Array(B * T * H * D);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let t = 0; t < T; t++) {
            const o = (x: number) => ((b * H + h) * T + x) * D;
            const js = Array.from({ length: T }, (_, j) => j).filter(
              (j) => j < lengths[b] && (!causal || j <= t),
            );
            const s = js.map(
              (j) =>
                scale *
                Array.from({ length: D }, (_, d) => qa[o(t) + d] * ka[o(j) + d]).reduce((p, c) => p + c, 0),
            );
            const mx = Math.max(...s);
            const e = s.map((x) => Math.exp(x - mx));
            const z = e.reduce((p, c) => p + c, 0);
            js.forEach((j, i) => {
              for (let d = 0; d < D; d++) want[((b * T + t) * H + h) * D + d] += (e[i] / z) * va[o(j) + d];
            });
          }
      expect(relErr(await out.context.data(), want)).toBeLessThan(1e-5);
      expect(layer.parameterCount()).toBe(0);
    });
  }
});

describe('createAttention', () => {
  it('builds each kind by name with one forward signature', async () => {
    const cfg = {
      causal: true,
      heads: 2,
      headDim: 8,
      predictorLength: 8,
      k: 2,
      nbFeatureFactor: 2,
      maxPositions: 32,
    };
    const rng = new sea.Rng(3);
    const [q, k, v] = [0, 1, 2].map(() =>
      sea.tensor(rng.fillNormal(new Float32Array(2 * 8 * 8)), [1, 2, 8, 8]),
    );
    for (const kind of ['dense', 'performer', 'sea'] as const) {
      const layer = createAttention(kind, cfg, { seed: 1 });
      expect(layer.kind).toBe(kind);
      const out = await layer.forward(q, k, v);
      expect(out.context.shape).toEqual([1, 8, 16]);
      layer.dispose();
    }
    const perf = createAttention('performer', cfg, { seed: 4 });
    const direct = PerformerAttention.create(cfg, { seed: 4 });
    expect(await (await perf.forward(q, k, v)).context.data()).toEqual(
      await (await direct.forward(q, k, v)).context.data(),
    );
    const sea1 = createAttention('sea', cfg, { seed: 6 });
    expect(sea1).toBeInstanceOf(SeaAttention);
    expect(sea1.parameterCount()).toBeGreaterThan(0);
    expect(() => createAttention('sea', { causal: true, heads: 2, headDim: 8 })).toThrow(
      /needs predictorLength/,
    );
    expect(() => createAttention('performer', { causal: true, heads: 2, headDim: 8 })).toThrow(
      /needs nbFeatureFactor/,
    );
    expect(() => createAttention('flash' as 'dense', cfg)).toThrow(/unknown kind 'flash'/);
  });
});

describe('convertOfficialWeights', () => {
  for (const causal of [true, false]) {
    it(`${causal ? 'causal (OPT)' : 'bidirectional (BERT)'}: renames, reshapes the [1,1,P,D] table, ignores unused parameters, infers the config`, async () => {
      const cfg = causal
        ? { causal, heads: 2, headDim: 8, predictorLength: 8, k: 2, nbFeatureFactor: 1, maxPositions: 16 }
        : { causal, heads: 2, headDim: 8, predictorLength: 8, k: 2, nbFeatureFactor: 1 };
      const ref = SeaAttention.create(cfg, { seed: 3 });
      const prefix = causal
        ? 'model.decoder.layers.0.self_attn.perlin_self_attention.attention.'
        : 'bert.encoder.layer.0.attention.self.perlin_self_attention.attention.';
      const sd: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [ours, official] of Object.entries(officialWeightNames(cfg))) {
        const w = ref.weights[ours];
        sd[prefix + official] = {
          shape: ours === 'position' ? [1, 1, ...w.shape] : [...w.shape],
          data: w.dataSync() as Float32Array,
        };
      }
      sd[`${prefix}attention_predictor_enc_per_layer.0.weight`] = {
        shape: [32, 48],
        data: new Float32Array(32 * 48),
      };
      sd[`${prefix}v_eye_learned`] = { shape: [1, 1, 8, 8], data: new Float32Array(64) };
      sd[`${prefix}performer_proj_updater.instance.projection_matrix`] = {
        shape: [16, 8],
        data: new Float32Array(128),
      };
      if (!causal)
        sd[`${prefix}v_eye_learned_causal`] = { shape: [1, 1, 2048, 8], data: new Float32Array(2048 * 8) };
      expect(sd[`${prefix}performer.projection_matrix`].shape).toEqual([16, 8]);
      for (const c of [cfg, undefined]) {
        const host = convertOfficialWeights(sd, prefix, c);
        expect(Object.keys(host).sort()).toEqual(Object.keys(ref.weights).sort());
        const layer = SeaAttention.fromWeights(cfg, weightsToTensors(host));
        for (const [n, w] of Object.entries(layer.weights))
          expect(w.dataSync()).toEqual(ref.weights[n].dataSync());
        layer.dispose();
      }
      const broken = { ...sd };
      delete broken[`${prefix}attention_predictor_dec_scaler.0.bias`];
      expect(() => convertOfficialWeights(broken, prefix, cfg)).toThrow(
        /missing '.*attention_predictor_dec_scaler\.0\.bias' \(for 'scaler\.bias'\)/,
      );
      expect(() =>
        convertOfficialWeights(
          { ...sd, [`${prefix}attention_predictor_enc.0.bias`]: { shape: [3], data: [1, 2, 3] } },
          prefix,
          cfg,
        ),
      ).toThrow(/expected \[16\]/);
      expect(officialWeightNames(cfg)[PROJECTION_WEIGHT]).toBe('performer.projection_matrix');
      ref.dispose();
    });
  }
});
