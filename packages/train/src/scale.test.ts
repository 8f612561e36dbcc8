// Training at scale on the CPU: gradient accumulation against the large batch, activation
// checkpointing against keeping activations, token windows streamed from a file against the same
// tokens in memory, and plain language-model training from scratch (loss falls, resume is exact).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import {
  causalLmLoss,
  checkpoint,
  convertTokenIds,
  Distiller,
  FileTokenSource,
  LmTrainer,
  TOKEN_BYTES,
  type TokenSource,
  valueAndGradAuxAsync,
  writeTokenFile,
} from './index.js';
import { backend } from './test/gradcheck.js';
import { randomOpt, type TinyShape } from './test/tiny.js';

void backend;

const cfg: TinyShape = { vocabSize: 64, hidden: 32, layers: 2, heads: 2, ffn: 64, maxPositions: 64 };
const hfConfig = {
  model_type: 'opt',
  vocab_size: cfg.vocabSize,
  hidden_size: cfg.hidden,
  num_hidden_layers: cfg.layers,
  num_attention_heads: cfg.heads,
  ffn_dim: cfg.ffn,
  max_position_embeddings: cfg.maxPositions,
  word_embed_proj_dim: cfg.hidden,
  do_layer_norm_before: true,
  activation_function: 'relu',
};

function tokens(n: number, seed: number): Int32Array {
  const rng = new sea.Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform() < 0.1 ? rng.int(cfg.vocabSize) : (i * 7) % 23;
  return out;
}

async function host(g: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [n, t] of Object.entries(g)) {
    out[n] = (await t.data()) as Float32Array;
    t.dispose();
  }
  return out;
}

/** max |a − b| over all gradients, relative to max |a|. */
function relDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let d = 0;
  let m = 0;
  for (const n of Object.keys(a)) {
    for (let i = 0; i < a[n].length; i++) {
      d = Math.max(d, Math.abs(a[n][i] - b[n][i]));
      m = Math.max(m, Math.abs(a[n][i]));
    }
  }
  return d / m;
}

const distillOpts = { seqLen: 16, k: 4, predictorLength: 8, nbf: 8, lr: 1e-3, evalWindows: 2, seed: 3 };

describe('gradient accumulation', () => {
  it('distillation: batch 1 × accumulate 4 and batch 2 × accumulate 2 equal batch 4 (≤ 1e-6 relative)', async () => {
    const teacher = await randomOpt(cfg, 12);
    const data = tokens(600, 6);
    const grads: Record<string, Float32Array>[] = [];
    for (const [batch, accumulate] of [
      [4, 1],
      [2, 2],
      [1, 4],
    ]) {
      const d = await Distiller.create(teacher, data, { ...distillOpts, batch, accumulate });
      const g = await d.stepGradients();
      grads.push(await host(g.grads));
      d.dispose();
    }
    const r21 = relDiff(grads[0], grads[1]);
    const r14 = relDiff(grads[0], grads[2]);
    console.log(
      `accumulation vs large batch (distill): 2×2 ${r21.toExponential(2)}, 1×4 ${r14.toExponential(2)}`,
    );
    expect(r21).toBeLessThanOrEqual(1e-6);
    expect(r14).toBeLessThanOrEqual(1e-6);
    expect(r21).toBeGreaterThanOrEqual(0);
    teacher.dispose();
  });

  it('language model: after 3 steps of 2 × accumulate 2 and of batch 4, the gradients still agree (≤ 1e-6 relative)', async () => {
    // parameters are compared through the gradients they give: AdamW's first steps move each
    // weight by about ±lr whatever the gradient's size, so a 1e-8 difference of a near-zero
    // gradient component moves a weight by up to ~lr·1e-3 (3e-6 here) without the runs diverging
    const data = tokens(600, 7);
    const grads: Record<string, Float32Array>[] = [];
    for (const [batch, accumulate] of [
      [4, 1],
      [2, 2],
    ]) {
      const t = await LmTrainer.create(hfConfig, data, { seqLen: 16, batch, accumulate, lr: 3e-3, seed: 1 });
      for (let s = 0; s < 3; s++) await t.trainStep();
      grads.push(await host((await t.stepGradients()).grads));
      t.dispose();
    }
    const r = relDiff(grads[0], grads[1]);
    console.log(`accumulation vs large batch (LM, gradients after 3 AdamW steps): ${r.toExponential(2)}`);
    expect(r).toBeLessThanOrEqual(1e-6);
  });
});

describe('activation checkpointing', () => {
  it('each layer runs again in backward, and between forward and backward only its inputs and outputs are held', async () => {
    const shape: TinyShape = { ...cfg, layers: 4 };
    const model = await randomOpt(shape, 17);
    const params = Object.fromEntries(model.parameters());
    const ids = sea.tensor(tokens(64, 3), [2, 32], { dtype: 'int32' });
    const held: number[] = [];
    const grads: Record<string, Float32Array>[] = [];
    let runs = 0;
    for (const on of [false, true]) {
      const before = backend.memory().bytes;
      const r = await valueAndGradAuxAsync(async () => {
        const out = await model.forward(ids, {
          parameters: new Map(Object.entries(params)),
          ...(on
            ? {
                checkpoint: (
                  ins: readonly (Tensor | null)[],
                  run: (x: (Tensor | null)[]) => Promise<Tensor[]>,
                ) =>
                  checkpoint(ins, (x) => {
                    runs++;
                    return run(x);
                  }),
              }
            : {}),
        });
        const loss = sea.tidy(() => causalLmLoss(out.logits, ids));
        out.logits.dispose();
        // what the tape keeps for backward (and the loss)
        held.push(backend.memory().bytes - before);
        return { loss, aux: null };
      }, params);
      r.value.dispose();
      grads.push(await host(r.grads));
    }
    expect(runs).toBe(2 * shape.layers);
    for (const n of Object.keys(grads[0])) expect(grads[1][n], n).toEqual(grads[0][n]);
    console.log(`activations held for backward: ${held[0]} bytes kept, ${held[1]} checkpointed`);
    // kept: per layer several [2,32,64] FFN and [2,2,32,32] attention tensors; checkpointed: the
    // layer inputs [2,32,32] and the head's tensors
    expect(held[1]).toBeLessThan(held[0] / 2);
    for (const t of Object.values(params)) t.dispose();
    ids.dispose();
    model.dispose();
  });

  it('SEA distillation: gradients with every student layer recomputed equal the kept ones bit for bit', async () => {
    const teacher = await randomOpt(cfg, 13);
    const data = tokens(600, 8);
    const out: Record<string, Float32Array>[] = [];
    for (const checkpointLayers of [false, true]) {
      const d = await Distiller.create(teacher, data, { ...distillOpts, batch: 2, checkpointLayers });
      out.push(await host((await d.stepGradients()).grads));
      d.dispose();
    }
    expect(Object.keys(out[1]).sort()).toEqual(Object.keys(out[0]).sort());
    for (const n of Object.keys(out[0])) expect(out[1][n], n).toEqual(out[0][n]);
    // a gradient that is not all zero, so the comparison means something
    expect(
      Math.max(...out[0]['model.decoder.layers.0.self_attn.q_proj.weight'].map(Math.abs)),
    ).toBeGreaterThan(0);
    teacher.dispose();
  });

  it('bfloat16 compute: the casts of the float32 masters stay readable for the recompute; identical gradients', async () => {
    const data = tokens(600, 11);
    const out: Record<string, Float32Array>[] = [];
    const live: number[] = [];
    for (const checkpointLayers of [false, true]) {
      const t = await LmTrainer.create(hfConfig, data, {
        seqLen: 16,
        batch: 2,
        checkpointLayers,
        computeDtype: 'bfloat16',
        seed: 4,
      });
      const buffers = backend.memory().buffers;
      out.push(await host((await t.stepGradients()).grads));
      live.push(backend.memory().buffers - buffers);
      t.dispose();
    }
    for (const n of Object.keys(out[0])) expect(out[1][n], n).toEqual(out[0][n]);
    expect(live).toEqual([0, 0]); // the casts kept for the recompute are freed after backward
  });

  it('language model: identical gradients, and identical parameters after 2 steps', async () => {
    const data = tokens(600, 9);
    const out: Record<string, Float32Array>[] = [];
    for (const checkpointLayers of [false, true]) {
      const t = await LmTrainer.create(hfConfig, data, { seqLen: 16, batch: 2, checkpointLayers, seed: 2 });
      await t.trainStep();
      out.push(await host((await t.stepGradients()).grads));
      t.dispose();
    }
    for (const n of Object.keys(out[0])) expect(out[1][n], n).toEqual(out[0][n]);
  });
});

describe('streamed token windows', () => {
  it('a binary ids file gives the same steps as the tokens in memory, reading windows only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-tokens-'));
    const data = tokens(700, 10);
    const file = path.join(dir, 'train.bin');
    writeTokenFile(file, data);
    expect(fs.statSync(file).size).toBe(data.length * TOKEN_BYTES);
    const reads: number[] = [];
    /** Records the size of every read of the file (through any slice). */
    const logged = (inner: TokenSource): TokenSource => ({
      get length() {
        return inner.length;
      },
      read(start: number, n: number) {
        reads.push(n);
        return inner.read(start, n);
      },
      slice: (s0: number, s1: number) => logged(inner.slice(s0, s1)),
      close: () => inner.close(),
    });
    const src = logged(FileTokenSource.open(file, cfg.vocabSize));
    const a = await LmTrainer.create(hfConfig, data, { seqLen: 16, batch: 2, seed: 4 });
    const b = await LmTrainer.create(hfConfig, src, { seqLen: 16, batch: 2, seed: 4 });
    for (let s = 0; s < 2; s++) {
      const la = await a.trainStep();
      const lb = await b.trainStep();
      expect(lb.loss).toBe(la.loss);
    }
    expect(await b.params['model.decoder.embed_tokens.weight'].data()).toEqual(
      await a.params['model.decoder.embed_tokens.weight'].data(),
    );
    a.dispose();
    b.dispose();
    // 2 steps × 2 windows, each one read of T = 16 tokens
    expect(reads).toEqual([16, 16, 16, 16]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('window reads are T tokens; bad files and out-of-vocabulary ids are named', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-tokens-'));
    const file = path.join(dir, 'x.bin');
    writeTokenFile(file, [1, 2, 3, 70, 5]);
    const src = FileTokenSource.open(file, 64);
    expect(Array.from(src.read(1, 2))).toEqual([2, 3]);
    expect(Array.from(src.slice(1, 3).read(1, 1))).toEqual([3]);
    expect(() => src.read(2, 2)).toThrow(/token 70 at offset 3 .*\[0, 64\)/);
    expect(() => src.read(4, 2)).toThrow(/outside \[0, 5\)/);
    fs.writeFileSync(path.join(dir, 'odd.bin'), Buffer.alloc(7));
    expect(() => FileTokenSource.open(path.join(dir, 'odd.bin'), 64)).toThrow(/7 bytes .*4-byte/);
    src.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a text ids file converts in small chunks to the same ids', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-tokens-'));
    const ids = Array.from(tokens(300, 11));
    fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify(ids));
    fs.writeFileSync(path.join(dir, 'b.txt'), ids.join(' \n'));
    for (const f of ['a.json', 'b.txt']) {
      const n = convertTokenIds(path.join(dir, f), path.join(dir, `${f}.bin`), 64, 7);
      expect(n).toBe(ids.length);
      const src = FileTokenSource.open(path.join(dir, `${f}.bin`), 64);
      expect(Array.from(src.read(0, n))).toEqual(ids);
      src.close();
    }
    fs.writeFileSync(path.join(dir, 'bad.txt'), '1 2 99');
    expect(() => convertTokenIds(path.join(dir, 'bad.txt'), path.join(dir, 'bad.bin'), 64)).toThrow(
      /token 99 at position 2/,
    );
    expect(fs.existsSync(path.join(dir, 'bad.bin'))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('language-model training from scratch', () => {
  it('the loss falls on a learnable stream and a resumed run takes the same steps bit for bit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-lm-'));
    const data = tokens(2000, 12);
    const o = {
      seqLen: 32,
      batch: 4,
      lr: 1e-2,
      seed: 5,
      warmup: 3,
      schedule: 'cosine' as const,
      totalSteps: 40,
    };
    const a = await LmTrainer.create(hfConfig, data, o);
    const losses: number[] = [];
    for (let s = 0; s < 30; s++) losses.push((await a.trainStep()).loss);
    const last5 = losses.slice(-5).reduce((x, y) => x + y, 0) / 5;
    console.log(
      `LM from scratch: first ${losses[0].toFixed(3)} (ln 64 = ${Math.log(64).toFixed(3)}), last-5 ${last5.toFixed(3)}`,
    );
    expect(Math.abs(losses[0] - Math.log(64))).toBeLessThan(0.1);
    expect(last5).toBeLessThan(0.6 * losses[0]);
    const b = await LmTrainer.create(hfConfig, data, o);
    for (let s = 0; s < 28; s++) await b.trainStep();
    await b.save(dir);
    b.dispose();
    const c = await LmTrainer.resume(dir, data);
    expect(c.step).toBe(28);
    for (let s = 0; s < 2; s++) await c.trainStep();
    for (const [n, t] of Object.entries(a.params))
      expect(await c.params[n].data(), n).toEqual(await t.data());
    a.dispose();
    c.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
