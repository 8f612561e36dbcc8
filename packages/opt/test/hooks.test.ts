/**
 * The layer hooks of the transformer skeleton on OPT: `onLayer` sees every layer's input (checked
 * against Hugging Face's hidden states) and q, k, v whose float64 softmax attention is the context it
 * reports; `forwardLayers` with `stopAfterLayer` returns HF's next hidden state; nothing leaks; the
 * incremental-decoding cache is checked and refused with a clear error until an attention keeps state.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { useBackend } from '@sea/tensor';
import { openCheckpoint } from '@sea/tensor/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInputError, OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'fixtures/opt-preln');
const backend = new CpuBackend();
useBackend(backend);

const meta = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as {
  inputs: Record<string, { input_ids: number[][]; attention_mask: number[][] }>;
};
const inp = meta.inputs.right;
let model: OptForCausalLM;
let hf: Awaited<ReturnType<typeof openCheckpoint>>;
beforeAll(async () => {
  model = await OptForCausalLM.load(dir, { backend });
  hf = await openCheckpoint(join(dir, 'expected.safetensors'));
});
afterAll(async () => {
  model?.dispose();
  await hf?.close();
});

/** Hugging Face's tensor `name` from the fixture (right-padded case). */
async function expected(name: string): Promise<Float32Array> {
  const t = await hf.readTensor(`right.${name}`, { backend });
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** max |a − b| / max |b| over the rows whose mask is 1 (rows of `inner` values). */
function relError(a: Float32Array, b: Float32Array, inner: number, mask: number[]): number {
  let num = 0;
  let den = 0;
  mask.forEach((m, row) => {
    if (!m) return;
    for (let i = row * inner; i < (row + 1) * inner; i++) {
      num = Math.max(num, Math.abs(a[i] - b[i]));
      den = Math.max(den, Math.abs(b[i]));
    }
  });
  return num / den;
}

/** softmax(q·kᵀ + causal + key padding)·v in float64, q k v [B,H,T,D] → [B,T,H·D]. */
function attention64(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  [B, H, T, D]: number[],
  mask: number[],
): Float64Array {
  const out = new Float64Array(B * T * H * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const base = (b * H + h) * T;
        const s: number[] = [];
        for (let j = 0; j <= t; j++) {
          if (!mask[b * T + j]) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(base + t) * D + d] * k[(base + j) * D + d];
          s.push(dot);
        }
        const js = Array.from({ length: t + 1 }, (_, j) => j).filter((j) => mask[b * T + j]);
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const z = e.reduce((x, y) => x + y, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          js.forEach((j, n) => {
            acc += (e[n] / z) * v[(base + j) * D + d];
          });
          out[((b * T + t) * H + h) * D + d] = acc;
        }
      }
  return out;
}

describe('OPT layer hooks', () => {
  it("onLayer: each layer's input is HF's hidden state; its q, k, v give its context", async () => {
    const flatMask = inp.attention_mask.flat();
    const seen: number[] = [];
    const before = backend.memory().buffers;
    const out = await model.forward(inp.input_ids, {
      attentionMask: inp.attention_mask,
      onLayer: async (i, view) => {
        seen.push(i);
        const C = view.hidden.shape[2];
        const hidden = (await view.hidden.data()) as Float32Array;
        expect(relError(hidden, await expected(`hidden_states.${i}`), C, flatMask)).toBeLessThan(1e-4);
        expect(view.q.shape).toEqual([2, 4, inp.input_ids[0].length, 16]);
        const want = attention64(
          (await view.q.data()) as Float32Array,
          (await view.k.data()) as Float32Array,
          (await view.v.data()) as Float32Array,
          [...view.q.shape],
          flatMask,
        );
        const got = (await view.context.data()) as Float32Array;
        expect(relError(got, Float32Array.from(want), C, flatMask)).toBeLessThan(1e-5);
      },
    });
    expect(seen).toEqual([0, 1]);
    out.logits.dispose();
    expect(backend.memory().buffers).toBe(before);
  });

  it('forwardLayers with stopAfterLayer 0 returns the input of layer 1', async () => {
    const before = backend.memory().buffers;
    let calls = 0;
    const out = await model.forwardLayers(inp.input_ids, {
      attentionMask: inp.attention_mask,
      stopAfterLayer: 0,
      onLayer: () => {
        calls++;
      },
    });
    expect(calls).toBe(1);
    const h = (await out.hidden.data()) as Float32Array;
    const want = await expected('hidden_states.1');
    expect(relError(h, want, out.hidden.shape[2], inp.attention_mask.flat())).toBeLessThan(1e-4);
    out.hidden.dispose();
    expect(backend.memory().buffers).toBe(before);
    await expect(model.forwardLayers(inp.input_ids, { stopAfterLayer: 2 })).rejects.toThrow(
      /stopAfterLayer must be a layer index in \[0, 1\], got 2/,
    );
  });

  it('a cache is checked against the model, the mask and its own layer states', async () => {
    const before = backend.memory().buffers;
    const ids = [[5, 6, 7]];
    await expect(model.forward(ids, { cache: { layers: [undefined], pastLength: 0 } })).rejects.toThrow(
      /cache has 1 layer states, the model 2 layers/,
    );
    const cache = model.createCache();
    cache.pastLength = 4;
    await expect(model.forward(ids, { cache, attentionMask: [[1, 1, 1]] })).rejects.toThrow(
      /with 4 cached tokens it must be \[1,7\]/,
    );
    await expect(model.forward(ids, { cache })).rejects.toThrow(ModelInputError);
    await expect(model.forward(ids, { cache })).rejects.toThrow(
      /cache is inconsistent: pastLength 4 but 0 of 2 layers hold state/,
    );
    cache.pastLength = 126;
    await expect(model.forward(ids, { cache })).rejects.toThrow(
      /126 cached \+ 3 new tokens but max_position_embeddings is 128/,
    );
    expect(backend.memory().buffers).toBe(before);
  });
});
