/**
 * What distillation needs from OptForCausalLM: parameters by HF name, per-call parameter tensors,
 * fromWeights, and captured attention (teacher logits and contexts, SEA training outputs).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { mul, type Tensor, useBackend } from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import { describe, expect, it } from 'vitest';
import { OPT_FP_MIN, OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/opt-preln');
const backend = new CpuBackend();
useBackend(backend);
const ids = [
  [2, 40, 41, 42, 43, 44, 45, 46],
  [2, 60, 61, 62, 63, 1, 1, 1],
];
const attentionMask = [
  [1, 1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 0, 0, 0],
];
const seaConfig = { predictorLength: 8, k: 2, nbFeatureFactor: 1 };

async function values(t: Tensor): Promise<number[]> {
  return [...(await t.data())];
}

describe('OptForCausalLM for training', () => {
  it('parameters() by HF name; forward with replaced parameters equals a model built with them', async () => {
    const model = await OptForCausalLM.load(fixture, { backend });
    const params = model.parameters();
    expect(params.has('model.decoder.embed_tokens.weight')).toBe(true);
    expect(params.has('model.decoder.layers.1.fc2.weight')).toBe(true);
    const base = await model.forward(ids, { attentionMask });
    const same = await model.forward(ids, { attentionMask, parameters: params });
    expect(await values(same.logits)).toEqual(await values(base.logits));
    const name = 'model.decoder.layers.0.self_attn.q_proj.weight';
    const changed = new Map(params);
    changed.set(name, mul(params.get(name) as Tensor, 1.5));
    const viaMap = await model.forward(ids, { attentionMask, parameters: changed });
    const copy = new Map<string, Tensor>();
    for (const [n, t] of changed) copy.set(n, wrap(t.backend, t));
    const rebuilt = await OptForCausalLM.fromWeights(model.config, copy, { backend });
    const direct = await rebuilt.forward(ids, { attentionMask });
    expect(await values(viaMap.logits)).toEqual(await values(direct.logits));
    expect(await values(viaMap.logits)).not.toEqual(await values(base.logits));
    await expect(
      model.forward(ids, { parameters: new Map([['nope', params.get(name) as Tensor]]) }),
    ).rejects.toThrow(/nope/);
    for (const o of [base, same, viaMap, direct]) o.logits.dispose();
    (changed.get(name) as Tensor).dispose();
    for (const t of params.values()) t.dispose();
    rebuilt.dispose();
    model.dispose();
  });

  it('captures the teacher logits (masked, Q pre-scaled) and contexts; frees the rest', async () => {
    const model = await OptForCausalLM.load(fixture, { backend });
    const before = backend.memory().bytes;
    const out = await model.forward(ids, { attentionMask, captureAttention: true });
    const [B, T, H] = [2, 8, model.config.numAttentionHeads];
    const D = model.config.hiddenSize / H;
    expect(out.layers?.length).toBe(model.config.numHiddenLayers);
    const mask = await values(out.logitMask as Tensor);
    for (const l of out.layers ?? []) {
      expect(l.context.shape).toEqual([B, T, H * D]);
      expect(l.logits?.shape).toEqual([B, H, T, T]);
      const lg = await values(l.logits as Tensor);
      // softmax of the logits over visible keys, times V, must give the context: check the masks
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < T; j++) {
            const hidden = j > t || attentionMask[b][j] === 0;
            expect(mask[(b * T + t) * T + j]).toBe(hidden ? Math.fround(OPT_FP_MIN) : 0);
            for (let h = 0; h < H; h++) {
              const x = lg[((b * H + h) * T + t) * T + j];
              if (hidden) expect(x).toBeLessThan(-1e37);
              else expect(Math.abs(x)).toBeLessThan(1e3);
            }
          }
        }
      }
    }
    const plain = await model.forward(ids, { attentionMask });
    expect(await values(out.logits)).toEqual(await values(plain.logits));
    plain.logits.dispose();
    out.logits.dispose();
    out.logitMask?.dispose();
    for (const l of out.layers ?? []) {
      l.context.dispose();
      l.logits?.dispose();
    }
    expect(backend.memory().bytes).toBe(before);
    model.dispose();
  });

  it('SEA layers return their dense-path training outputs; SEA parameters carry .sea. names', async () => {
    const model = await OptForCausalLM.load(fixture, {
      backend,
      attention: 'sea',
      seaConfig: { ...seaConfig, path: 'dense' },
      seed: 3,
    });
    const params = model.parameters();
    const buffers = model.buffers();
    expect([...params.keys()].some((n) => n.includes('.self_attn.sea.encoder'))).toBe(true);
    expect([...buffers.keys()]).toEqual([
      'model.decoder.layers.0.self_attn.sea.performer.projection',
      'model.decoder.layers.1.self_attn.sea.performer.projection',
    ]);
    const before = backend.memory().bytes;
    const out = await model.forward(ids, { attentionMask, captureAttention: true });
    const plain = await model.forward(ids, { attentionMask });
    expect(await values(out.logits)).toEqual(await values(plain.logits));
    for (const l of out.layers ?? []) {
      expect(l.logits).toBeUndefined();
      expect(l.training?.estimateLogitsStretched.shape).toEqual([2, 4, 8, 8]);
      expect(l.training?.studentScores.shape).toEqual([2, 4, 8, 8]);
    }
    plain.logits.dispose();
    out.logits.dispose();
    out.logitMask?.dispose();
    for (const l of out.layers ?? []) {
      l.context.dispose();
      for (const t of Object.values(l.training ?? {})) t.dispose();
    }
    expect(backend.memory().bytes).toBe(before);
    for (const t of [...params.values(), ...buffers.values()]) t.dispose();
    model.dispose();
  });

  it('a layer checkpoint gets every layer with its inputs (hidden, key mask, logit mask); the outputs are the same', async () => {
    const model = await OptForCausalLM.load(fixture, {
      backend,
      attention: (i) => (i === 0 ? 'dense' : 'sea'),
      seaConfig: { ...seaConfig, path: 'dense' },
      seed: 3,
    });
    const before = backend.memory().bytes;
    const seen: string[][] = [];
    const out = await model.forward(ids, {
      attentionMask,
      captureAttention: true,
      outputHiddenStates: true,
      checkpoint: async (ins, run) => {
        seen.push(ins.map((t) => (t ? `${t.dtype}[${t.shape}]` : 'null')));
        return run([...ins]);
      },
    });
    const H = model.config.hiddenSize;
    expect(seen).toEqual(
      Array.from({ length: 2 }, () => [`float32[2,8,${H}]`, 'bool[2,8]', 'float32[2,1,8,8]']),
    );
    const plain = await model.forward(ids, {
      attentionMask,
      captureAttention: true,
      outputHiddenStates: true,
    });
    expect(await values(out.logits)).toEqual(await values(plain.logits));
    for (let i = 0; i < 2; i++) {
      const [a, b] = [out.layers?.[i], plain.layers?.[i]];
      expect(await values(a?.context as Tensor)).toEqual(await values(b?.context as Tensor));
      if (i === 0) expect(await values(a?.logits as Tensor)).toEqual(await values(b?.logits as Tensor));
      else {
        const ta = (a?.training ?? {}) as unknown as Record<string, Tensor>;
        const tb = (b?.training ?? {}) as unknown as Record<string, Tensor>;
        expect(Object.keys(ta)).toEqual(Object.keys(tb));
        expect(Object.keys(tb).length).toBeGreaterThan(0);
        for (const n of Object.keys(tb)) expect(await values(ta[n]), n).toEqual(await values(tb[n]));
      }
    }
    for (const o of [out, plain]) {
      o.logits.dispose();
      o.logitMask?.dispose();
      for (const t of o.hiddenStates ?? []) t.dispose();
      for (const l of o.layers ?? []) {
        l.context.dispose();
        l.logits?.dispose();
        for (const t of Object.values(l.training ?? {})) t.dispose();
      }
    }
    expect(backend.memory().bytes).toBe(before);
    const cache = model.createCache();
    await expect(
      model.forward(ids, { attentionMask, cache, checkpoint: async (ins, run) => run([...ins]) }),
    ).rejects.toThrow(/checkpoint \(activation checkpointing\) cannot be used with a cache/);
    model.dispose();
  });
});
