import { CpuBackend } from '@sea/backend-cpu';
import { describe, expect, it } from 'vitest';
import { predictorParameterCount, predictorShape, predictorWeightSpecs } from './config.js';
import { disposePredictorWeights, initPredictorWeights } from './weights.js';

const backend = new CpuBackend();
const opt125m = { causal: true, heads: 12, headDim: 64, predictorLength: 256 };
const bertBase = { causal: false, heads: 12, headDim: 64, predictorLength: 128 };

describe('parameter counts (docs/algorithm.md §4c)', () => {
  it('OPT-125m: 191,070 per layer, 59,998 without the position table', () => {
    expect(predictorParameterCount(opt125m)).toBe(191_070);
    expect(predictorParameterCount(opt125m, { position: false })).toBe(59_998);
  });
  it('BERT-base: 105,006 per layer', () => {
    expect(predictorParameterCount(bertBase)).toBe(105_006);
  });
  it('the other OPT sizes of docs/algorithm.md §4c', () => {
    expect(predictorParameterCount({ ...opt125m, heads: 16 })).toBe(204_754);
    expect(predictorParameterCount({ ...opt125m, heads: 32 })).toBe(298_530);
    expect(predictorParameterCount({ ...opt125m, heads: 32, headDim: 80 })).toBe(349_378);
  });
  it('module breakdown for OPT-125m and BERT-base', () => {
    const by = (cfg: typeof opt125m, prefix: string) =>
      predictorWeightSpecs(cfg)
        .filter((w) => w.name.startsWith(prefix))
        .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(by(opt125m, 'encoder.')).toBe(24_960);
    expect(by(opt125m, 'nu.')).toBe(16_512);
    expect(by(opt125m, 'cnn.')).toBe(18_268);
    expect(by(opt125m, 'cnn.conv1.')).toBe(8_664);
    expect(by(opt125m, 'cnn.conv_out.')).toBe(300);
    expect(by(opt125m, 'scaler.')).toBe(258);
    expect(by(bertBase, 'nu.')).toBe(33_024);
    expect(by(bertBase, 'cnn.')).toBe(46_764);
  });
});

describe('config validation', () => {
  it('derives c_s/c_h', () => {
    expect(predictorShape(opt125m)).toMatchObject({ cs: 4, ch: 2, width: 64, maxPositions: 2048 });
    expect(predictorShape(bertBase)).toMatchObject({ cs: 2, ch: 4, width: 64, maxPositions: 0 });
  });
  it('names what is wrong', () => {
    expect(() => predictorShape({ ...opt125m, predictorLength: 30 })).toThrow(/multiple of 4/);
    expect(() => predictorShape({ ...bertBase, predictorLength: 7 })).toThrow(/multiple of 2/);
    expect(() => predictorShape({ ...opt125m, predictorLength: 0 })).toThrow(
      /predictorLength must be a positive integer/,
    );
    expect(() => predictorShape({ ...opt125m, heads: 1.5 })).toThrow(/heads must be a positive integer/);
    expect(() => predictorShape({ ...opt125m, headDim: -64 })).toThrow(/headDim/);
    expect(() => predictorShape({ ...opt125m, maxPositions: 0 })).toThrow(/maxPositions/);
    expect(() => predictorShape({ ...bertBase, maxPositions: 512 })).toThrow(/causal predictor only/);
  });
});

describe('initPredictorWeights', () => {
  it('draws PyTorch default inits, reproducibly', () => {
    const cfg = { causal: true, heads: 3, headDim: 16, predictorLength: 32, maxPositions: 64 };
    const w = initPredictorWeights(cfg, { seed: 4, backend });
    const w2 = initPredictorWeights(cfg, { seed: 4, backend });
    for (const spec of predictorWeightSpecs(cfg)) {
      expect(w[spec.name].shape).toEqual(spec.shape);
      expect(Array.from(w[spec.name].dataSync())).toEqual(Array.from(w2[spec.name].dataSync()));
    }
    const vals = (n: string) => Array.from(w[n].dataSync());
    const bound = (fanIn: number) => 1 / Math.sqrt(fanIn);
    const enc = vals('encoder.linear.weight');
    expect(Math.max(...enc.map(Math.abs))).toBeLessThanOrEqual(bound(48));
    expect(Math.max(...enc.map(Math.abs))).toBeGreaterThan(0.9 * bound(48));
    expect(vals('encoder.norm.weight').every((x) => x === 1)).toBe(true);
    expect(vals('encoder.norm.bias').every((x) => x === 0)).toBe(true);
    const pos = vals('position');
    const mean = pos.reduce((a, b) => a + b, 0) / pos.length;
    const sd = Math.sqrt(pos.reduce((a, b) => a + (b - mean) ** 2, 0) / pos.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(sd - 1)).toBeLessThan(0.1);
    // causal convs: a 3×3 kernel (fan_in 2H·9) in the top three rows of 5×3, bottom rows zero
    const c1 = vals('cnn.conv1.weight');
    const C = 6;
    for (let i = 0; i < C * C; i++) {
      const k = c1.slice(i * 15, (i + 1) * 15);
      expect(k.slice(9).every((x) => x === 0)).toBe(true);
      expect(k.slice(0, 9).every((x) => x !== 0 && Math.abs(x) <= bound(C * 9))).toBe(true);
    }
    expect(Math.max(...vals('cnn.conv_out.bias').map(Math.abs))).toBeLessThanOrEqual(bound(C));
    disposePredictorWeights(w);
    disposePredictorWeights(w2);
  });

  it('names every weight with its official parameter', () => {
    const names = predictorWeightSpecs(opt125m).map((s) => `${s.name}=${s.official}`);
    expect(names).toContain('position=v_eye_learned_causal');
    expect(names).toContain('cnn.conv1.weight=attention_predictor_cnn.1.module.net.0.module.weight');
    expect(names).toContain('cnn.conv_out.weight=attention_predictor_cnn.1.module.net.5.module.weight');
    expect(names).toContain('cnn.norm_out.bias=attention_predictor_cnn.2.module.bias');
    const bert = predictorWeightSpecs(bertBase).map((s) => `${s.name}=${s.official}`);
    expect(bert).toContain('cnn.conv2.bias=attention_predictor_cnn.0.net.2.bias');
    expect(bert).toContain('nu.weight=attention_predictor_dec_row.0.weight');
  });
});
