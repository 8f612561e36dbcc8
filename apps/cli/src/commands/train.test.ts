/**
 * `sea train` from scratch on a tiny OPT config with streamed binary ids: a piece stopped by
 * --max-minutes, continued with --resume to the same weights as one uninterrupted run, the exported
 * model folder loaded back with its held-out perplexity recomputed; then `sea distill --attention
 * dense` fine-tunes that model with the distillation losses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OptForCausalLM } from '@sea/opt';
import * as sea from '@sea/tensor';
import { writeTokenFile } from '@sea/train';
import { afterAll, describe, expect, it } from 'vitest';
import { stdoutOf } from '../../test/stdout.js';
import { distillCommand } from './distill.js';
import { type TrainCommandOptions, trainCommand } from './train.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-cli-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('sea train', () => {
  it('trains from scratch in resumable pieces, exports a model, and sea distill --attention dense fine-tunes it', async () => {
    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
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
      }),
    );
    const rng = new sea.Rng(3);
    const ids = Array.from({ length: 3000 }, (_, i) => (rng.uniform() < 0.1 ? rng.int(64) : (i * 5) % 19));
    const data = path.join(tmp, 'train.bin');
    writeTokenFile(data, ids);
    const flags: TrainCommandOptions = {
      config,
      data,
      steps: 6,
      seqLen: 32,
      batch: 2,
      accumulate: 2,
      lr: 1e-2,
      warmup: 2,
      schedule: 'cosine',
      minLrRatio: 0.1,
      checkpointLayers: true,
      seed: 0,
      out: path.join(tmp, 'a'),
      evalEvery: 0,
      evalWindows: 2,
      saveEvery: 0,
      backend: 'cpu',
      progress: false,
    };
    const whole = await stdoutOf(() => trainCommand(flags));
    expect(whole).toMatch(/trained 6 steps: loss [\d.]+, held-out ppl [\d.]+/);
    // a piece that stops at once (the budget is already spent), then the rest
    const b = { ...flags, out: path.join(tmp, 'b') };
    const piece = await stdoutOf(() => trainCommand({ ...b, maxMinutes: 1e-9 }));
    expect(piece).toMatch(/stopped at step 1\/6 .*--resume/);
    expect(await stdoutOf(() => trainCommand({ ...b, resume: true }))).toMatch(/trained 6 steps/);
    const A = await OptForCausalLM.load(path.join(tmp, 'a', 'model'));
    const B = await OptForCausalLM.load(path.join(tmp, 'b', 'model'));
    for (const [n, t] of A.parameters())
      expect(await B.parameters().get(n)?.data(), n).toEqual(await t.data());
    B.dispose();
    const result = JSON.parse(fs.readFileSync(path.join(tmp, 'a', 'result.json'), 'utf8')) as {
      heldOutPpl: number;
    };
    expect(result.heldOutPpl).toBeLessThan(64);
    A.dispose();

    const dense = await stdoutOf(() =>
      distillCommand({
        teacher: path.join(tmp, 'a', 'model'),
        data,
        steps: 2,
        seqLen: 32,
        batch: 1,
        accumulate: 2,
        k: 4,
        predictorLength: 8,
        nbf: 8,
        attention: 'dense',
        lr: 1e-3,
        seed: 0,
        out: path.join(tmp, 'dense'),
        evalEvery: 0,
        evalWindows: 2,
        saveEvery: 0,
        backend: 'cpu',
        progress: false,
      }),
    );
    expect(dense).toMatch(/distilled 2 steps \(dense\): loss [\d.]+, held-out ppl/);
    // SEA distilled in bfloat16 (float32 masters) with checkpointed layers
    const half16 = await stdoutOf(() =>
      distillCommand({
        teacher: path.join(tmp, 'a', 'model'),
        data,
        steps: 2,
        seqLen: 32,
        batch: 1,
        accumulate: 2,
        k: 4,
        predictorLength: 8,
        nbf: 8,
        attention: 'sea',
        computeDtype: 'bfloat16',
        checkpointLayers: true,
        lr: 1e-3,
        seed: 0,
        out: path.join(tmp, 'sea16'),
        evalEvery: 0,
        evalWindows: 2,
        saveEvery: 0,
        backend: 'cpu',
        progress: false,
      }),
    );
    expect(half16).toMatch(/distilled 2 steps \(sea\): loss [\d.]+, held-out ppl/);
    const S16 = await OptForCausalLM.load(path.join(tmp, 'sea16', 'model'));
    for (const t of S16.parameters().values()) expect(t.dtype).toBe('float32');
    S16.dispose();

    // bfloat16 compute (float32 masters) with checkpointed layers: a stopped piece resumes to the
    // uninterrupted run's weights, and the held-out perplexity runs the masters cast to bfloat16
    const half = { ...flags, steps: 3, computeDtype: 'bfloat16' as const };
    const h1 = path.join(tmp, 'h1');
    const h2 = path.join(tmp, 'h2');
    expect(await stdoutOf(() => trainCommand({ ...half, out: h1 }))).toMatch(
      /trained 3 steps: loss [\d.]+, held-out ppl [\d.]+/,
    );
    await stdoutOf(() => trainCommand({ ...half, out: h2, maxMinutes: 1e-9 }));
    expect(await stdoutOf(() => trainCommand({ ...half, out: h2, resume: true }))).toMatch(/trained 3 steps/);
    const H1 = await OptForCausalLM.load(path.join(h1, 'model'));
    const H2 = await OptForCausalLM.load(path.join(h2, 'model'));
    for (const [n, t] of H1.parameters()) {
      expect(t.dtype, n).toBe('float32');
      expect(await H2.parameters().get(n)?.data(), n).toEqual(await t.data());
    }
    H1.dispose();
    H2.dispose();
  });
});
