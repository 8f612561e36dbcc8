// Loss scaling with float32 master weights (the float16 recipe's logic, run here in float32 compute):
// a power-of-two scale gives bit-identical training; an overflowing scale skips the step (no update,
// the same batch next), backs the scale off, and the next step's unscaled gradients match.
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { DynamicLossScaler, LmTrainer } from './index.js';
import { backend } from './test/gradcheck.js';

void backend;
const hf = {
  model_type: 'opt',
  vocab_size: 64,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  ffn_dim: 64,
  max_position_embeddings: 64,
  word_embed_proj_dim: 32,
  do_layer_norm_before: true,
  activation_function: 'relu',
};
const rng = new sea.Rng(4);
const data = Int32Array.from({ length: 800 }, (_, i) => (rng.uniform() < 0.1 ? rng.int(64) : (i * 7) % 23));
const o = { seqLen: 16, batch: 2, accumulate: 2, lr: 3e-3, seed: 1 };

describe('DynamicLossScaler', () => {
  it('a power-of-two scale (2^16, growing to 2^17 after 2 steps) trains bit-identically to no scaling', async () => {
    const a = await LmTrainer.create(hf, data, o);
    const b = await LmTrainer.create(hf, data, o);
    b.lossScaler = new DynamicLossScaler({ growthInterval: 2 });
    for (let s = 0; s < 3; s++) {
      const la = await a.trainStep();
      const lb = await b.trainStep();
      expect(lb.gradNorm).toBe(la.gradNorm);
    }
    expect(b.lossScaler.state()).toEqual({ scale: 2 ** 17, goodSteps: 1, skipped: 0 });
    for (const [n, t] of Object.entries(a.params))
      expect(await b.params[n].data(), n).toEqual(await t.data());
    a.dispose();
    b.dispose();
  });

  it('an overflowing scale skips the step without an update, backs off, and the step then runs', async () => {
    const a = await LmTrainer.create(hf, data, o);
    const b = await LmTrainer.create(hf, data, o);
    b.lossScaler = new DynamicLossScaler({ init: 1e300, backoffFactor: 2 ** -980 });
    const before = await b.params['model.decoder.embed_tokens.weight'].data();
    const skipped = await b.trainStep();
    expect(skipped.gradNorm).toBe(Number.POSITIVE_INFINITY);
    expect(b.step).toBe(0);
    expect(await b.params['model.decoder.embed_tokens.weight'].data()).toEqual(before);
    expect(b.lossScaler.state().skipped).toBe(1);
    expect(b.lossScaler.scale).toBeCloseTo(1e300 * 2 ** -980, 0);
    const la = await a.trainStep();
    const lb = await b.trainStep();
    expect(b.step).toBe(1);
    expect(Math.abs(lb.gradNorm - la.gradNorm) / la.gradNorm).toBeLessThan(1e-6);
    expect(lb.loss).toBe(la.loss);
    a.dispose();
    b.dispose();
  });
});

describe('mixed precision (bfloat16 compute, float32 master weights)', () => {
  it('follows the float32 loss curve within 2% over 20 steps; masters and moments stay float32', async () => {
    const o2 = { seqLen: 32, batch: 4, lr: 1e-2, seed: 5 };
    const f32 = await LmTrainer.create(hf, data, o2);
    const bf16 = await LmTrainer.create(hf, data, { ...o2, computeDtype: 'bfloat16' });
    const a: number[] = [];
    const b: number[] = [];
    for (let s = 0; s < 20; s++) {
      a.push((await f32.trainStep()).loss);
      b.push((await bf16.trainStep()).loss);
    }
    const worst = Math.max(...a.map((x, i) => Math.abs(b[i] - x) / x));
    console.log(
      `bf16 vs fp32 loss: first ${a[0].toFixed(4)} / ${b[0].toFixed(4)}, last ${a[19].toFixed(4)} / ${b[19].toFixed(4)}, worst relative ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(0.02);
    expect(b[19]).toBeLessThan(0.7 * b[0]);
    expect(b.some((x, i) => x !== a[i])).toBe(true); // it really computed in bfloat16
    for (const t of Object.values(bf16.params)) expect(t.dtype).toBe('float32');
    for (const t of bf16.optimizer.m.values()) expect(t.dtype).toBe('float32');
    // held-out perplexity runs the masters cast to bfloat16 (the model's dtype), near float32's
    const [pa, pb] = [await f32.evalPerplexity(), await bf16.evalPerplexity()];
    console.log(`held-out ppl: float32 ${pa.ppl.toFixed(4)}, bfloat16 ${pb.ppl.toFixed(4)}`);
    expect(pb.windows).toBe(pa.windows);
    expect(Math.abs(pb.nll - pa.nll) / pa.nll).toBeLessThan(0.02);
    f32.dispose();
    bf16.dispose();
  });
});
