// One decoded row's top-k̂ against the row of the whole-sequence grouped top-k̂, and the causal
// budget against the docs/algorithm.md §5 formula written out here.
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { causalRowBudget } from './budgets.js';
import { causalRowTopK, groupedTopK } from './topk.js';

const backend = new CpuBackend();

describe('decoding one row', () => {
  it('causalRowBudget is round-half-even(H·k·K/L) clamped to [1, H·K]', () => {
    // H=12, k=64, K=256: 196608/L
    expect(causalRowBudget(64, 256, 12, 1)).toBe(3072);
    expect(causalRowBudget(64, 256, 12, 64)).toBe(3072);
    expect(causalRowBudget(64, 256, 12, 65)).toBe(3025); // 3024.74
    expect(causalRowBudget(64, 256, 12, 2048)).toBe(96);
    expect(causalRowBudget(1, 2, 1, 4)).toBe(1); // 0.5 → 0 (even) → clamped to 1
    expect(causalRowBudget(3, 4, 1, 8)).toBe(2); // 1.5 → 2 (even)
    expect(causalRowBudget(5, 4, 1, 8)).toBe(2); // 2.5 → 2 (even)
    expect(() => causalRowBudget(1, 2, 1, 0)).toThrow(/positive integer/);
  });

  it('causalRowTopK of row t equals row t of groupedTopK over the whole sequence', async () => {
    const [B, H, T, K, k] = [2, 3, 53, 8, 2];
    const rng = new Rng(5);
    const probs = sea.softmax(
      sea.tensor(rng.fillNormal(new Float32Array(B * H * T * K), 0, 1), [B, H, T, K], { backend }),
    );
    const full = (await groupedTopK(probs, {
      mode: 'causal_batch',
      k,
      causal: true,
      layout: 'bthk',
    }).data()) as Uint8Array;
    for (let t = 0; t < T; t++) {
      const rowT = sea.slice(probs, [0, 0, t, 0], [B, H, 1, K]);
      const got = (await causalRowTopK(rowT, [t + 1, t + 1], k).data()) as Uint8Array;
      const want = new Uint8Array(B * H * K);
      for (let b = 0; b < B; b++)
        want.set(full.subarray((b * T + t) * H * K, (b * T + t + 1) * H * K), b * H * K);
      expect(Array.from(got)).toEqual(Array.from(want));
      let n = 0;
      for (const x of got.subarray(0, H * K)) n += x;
      expect(n).toBe(causalRowBudget(k, K, H, t + 1));
    }
  });
});
