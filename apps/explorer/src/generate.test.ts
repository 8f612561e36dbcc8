/**
 * The generate box on the CPU backend: its tokens are the model's greedy tokens, and each new row's
 * estimate and attended keys equal that row of the whole-sequence SEA forward (sparse path) seen
 * through the skeleton's layer hook.
 */
import { CpuBackend } from '@sea/backend-cpu';
import { bundledModel } from '@sea/pictures';
import type { CsrMatrix } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { generateWithRows, type NewRowView, seaModelOf } from './generate.js';

const backend = new CpuBackend();

describe('generate box', () => {
  it('streams greedy tokens with the new row’s estimate and keys, equal to the full forward’s row', async () => {
    const model = await bundledModel({
      hidden: 64,
      layers: 2,
      heads: 4,
      maxPositions: 128,
      seed: 3,
      vocab: 300,
    });
    const settings = { k: 2, predictorLength: 16, nbFeatureFactor: 8, seed: 1 };
    const sea = await seaModelOf(model, backend, settings);
    const prompt = [2, 17, 99, 45, 210, 8, 64, 33, 150, 12, 77, 5];
    const seen: { id: number; view: NewRowView | null }[] = [];
    const tokens = await generateWithRows(sea, prompt, {
      ...settings,
      layer: 1,
      head: 2,
      maxNewTokens: 30,
      onToken: (id, view) => void seen.push({ id, view }),
    });
    expect(tokens).toEqual((await sea.generate(prompt, { maxNewTokens: 30 })).tokens[0]);
    expect(seen.map((s) => s.id)).toEqual(tokens);
    expect(seen[0].view).toBeNull();
    // the whole sequence through the sparse forward, layer 1's estimate and mask rows
    const all = [...prompt, ...tokens];
    let estimate: Float32Array | null = null;
    const rows = new Map<number, number[]>();
    const out = await sea.forward([all], {
      onLayer: async (layer, v) => {
        if (layer !== 1 || !v.estimate || !v.mask) return;
        estimate = (await v.estimate.data()) as Float32Array;
        const csr = v.mask as CsrMatrix;
        const crow = (await csr.crow.data()) as Int32Array;
        const col = (await csr.col.data()) as Int32Array;
        for (let t = 0; t < all.length; t++) {
          const keys: number[] = [];
          for (let z = crow[t]; z < crow[t + 1]; z++)
            if (Math.floor(col[z] / csr.keys) === 2) keys.push(col[z] % csr.keys);
          rows.set(
            t,
            keys.sort((a, b) => a - b),
          );
        }
      },
    });
    out.logits.dispose();
    const T = all.length;
    const K = 16;
    for (const { view } of seen.slice(1)) {
      const v = view as NewRowView;
      expect(v.keys).toEqual(rows.get(v.position));
      const want = (estimate as unknown as Float32Array).subarray(
        (2 * T + v.position) * K,
        (2 * T + v.position + 1) * K,
      );
      for (let i = 0; i < K; i++) expect(Math.abs(v.estimate[i] - want[i])).toBeLessThan(1e-5);
    }
    expect(seen.at(-1)?.view?.position).toBe(T - 2);
    sea.dispose();
  });
});
