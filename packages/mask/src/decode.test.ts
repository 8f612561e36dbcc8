// One decoded row's top-k̂ against the row of the whole-sequence grouped top-k̂, and the causal
// budget against the docs/algorithm.md §5 formula written out here.
import { CpuBackend } from '@sea/backend-cpu';
import * as sea from '@sea/tensor';
import { Rng } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { causalRowBudget } from './budgets.js';
import { stretchToCsr } from './stretch.js';
import { causalRowCapacity, causalRowCsr, causalRowTopK, groupedTopK } from './topk.js';

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

  it("causalRowCsr: the row's stretch sized from its budget, nothing read back; the bound is reached", async () => {
    const [B, H, K, k, keys] = [2, 3, 8, 3, 700];
    const rng = new Rng(9);
    let reached = false;
    for (const L of [1, 5, 8, 24, 25, 37, 90, 333, 700]) {
      const probs = sea.softmax(
        sea.tensor(rng.fillNormal(new Float32Array(B * H * K), 0, 1), [B, H, 1, K], { backend }),
      );
      const lens = [L, Math.max(1, L - 3)];
      const cells = causalRowTopK(probs, lens, k);
      const want = await stretchToCsr(
        cells,
        sea.tensor(Int32Array.from(lens), [B, 1], { dtype: 'int32', backend }),
        {
          k,
          keys,
          layout: 'bthk',
        },
      );
      const reads = backend.read;
      let n = 0;
      backend.read = (...a) => {
        n++;
        return reads.apply(backend, a);
      };
      const got = await causalRowCsr(cells, lens, { k, keys }).finally(() => {
        backend.read = reads;
      });
      expect(n).toBe(0);
      const cap = Math.max(...lens.map((x) => causalRowCapacity(k, K, H, x)));
      expect(got.col.shape).toEqual([B, cap]);
      expect(got.nnz).toEqual([cap, cap]);
      const crow = (await got.crow.data()) as Int32Array;
      expect(Array.from(crow)).toEqual(Array.from((await want.crow.data()) as Int32Array));
      // the bound: the budget's cells, widest first, each min(width, k) keys
      for (let b = 0; b < B; b++) {
        expect(crow[b * 2 + 1]).toBeLessThanOrEqual(causalRowCapacity(k, K, H, lens[b]));
        if (crow[b * 2 + 1] === causalRowCapacity(k, K, H, lens[b])) reached = true;
      }
      const col = (await got.col.data()) as Int32Array;
      const wcol = (await want.col.data()) as Int32Array;
      const Z = want.col.shape[1];
      for (let b = 0; b < B; b++) {
        expect(Array.from(col.subarray(b * cap, b * cap + crow[b * 2 + 1]))).toEqual(
          Array.from(wcol.subarray(b * Z, b * Z + crow[b * 2 + 1])),
        );
      }
    }
    expect(reached).toBe(true);
    expect(causalRowCapacity(2, 4, 1, 8)).toBe(2); // budget 1·2·4/8 = 1 cell of width 2
    expect(causalRowCapacity(3, 4, 2, 10)).toBe(6); // budget round(2.4) = 2 cells of widths 3, 2, 3, 2 (×2 heads): 3 + 3
    expect(causalRowCapacity(64, 256, 12, 2048)).toBe(96 * 8); // 96 cells of width 8
  });

  it("a capacity below a row's entries is an error on the CPU backend", async () => {
    const mask = sea.tensor(new Uint8Array(4).fill(1), [1, 1, 1, 4], { dtype: 'bool', backend });
    const len = sea.tensor(Int32Array.from([8]), [1, 1], { dtype: 'int32', backend });
    await expect(sea.stretchToCsr(mask, len, { k: 4, keys: 8, capacity: 7 })).rejects.toThrow(
      /batch element 0 has 8 entries, more than the capacity 7/,
    );
    await expect(sea.stretchToCsr(mask, len, { k: 4, keys: 8, capacity: -1 })).rejects.toThrow(
      /capacity must be a non-negative integer, got -1/,
    );
  });
});
