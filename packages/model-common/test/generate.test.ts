/**
 * `generate` over a scripted model (logits chosen by the test, on the CPU backend): greedy chains,
 * EOS, stop strings, streaming, abort, the repetition penalty's formula, seeded sampling, and the
 * sampling distribution after temperature / top-k / top-p against its float64 definition.
 */
import { CpuBackend } from '@sea/backend-cpu';
import { type Tensor, tensor } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import type { ForwardCache } from '../src/index.js';
import { type GenerativeModel, generate, ModelInputError } from '../src/index.js';

const backend = new CpuBackend();

/** Logits of the next token = table(last token of the row); counts the calls and their shapes. */
function scripted(V: number, table: (last: number) => number[], maxPositions = 1000) {
  const calls: number[][][] = [];
  let live = 0;
  const model: GenerativeModel = {
    maxPositions,
    async forward(
      ids: number[][],
      opts: { cache: ForwardCache; logitsToKeep?: number },
    ): Promise<{ logits: Tensor }> {
      calls.push(ids.map((r) => [...r]));
      expect(opts.logitsToKeep).toBe(1);
      opts.cache.pastLength += ids[0].length;
      const v = new Float32Array(ids.length * V);
      for (const [b, r] of ids.entries()) v.set(table(r[r.length - 1]), b * V);
      return { logits: tensor(v, [ids.length, 1, V], { backend }) };
    },
    createCache(): ForwardCache {
      live++;
      return { layers: [], pastLength: 0 };
    },
    disposeCache(): void {
      live--;
    },
  };
  return { model, calls, live: () => live };
}

describe('generate (greedy)', () => {
  // next = (last·3 + 1) mod 7, ties never
  const table = (last: number) =>
    Array.from({ length: 7 }, (_, i) => (i === (last * 3 + 1) % 7 ? 2 : -i / 10));

  it('follows the argmax chain, one forward per token, and streams each token', async () => {
    const { model, calls, live } = scripted(7, table);
    const seen: number[][] = [];
    const r = await generate(model, [4, 2], { maxNewTokens: 5, onToken: (t) => void seen.push([...t]) });
    // 2 → 0 → 1 → 4 → 6 → 5
    expect(r.tokens).toEqual([[0, 1, 4, 6, 5]]);
    expect(r.finishReasons).toEqual(['length']);
    expect(seen).toEqual([[0], [1], [4], [6], [5]]);
    expect(calls).toEqual([[[4, 2]], [[0]], [[1]], [[4]], [[6]]]);
    expect(r.timings.promptTokens).toBe(2);
    expect(r.timings.decodeSteps).toBe(4);
    expect(live()).toBe(0);
  });

  it('stops a row at EOS and at a stop string; finished rows stream -1', async () => {
    const { model } = scripted(7, table);
    const r = await generate(model, [[2], [3]], { maxNewTokens: 6, eosTokenId: 4, onToken: () => {} });
    // row 0: 2 → 0 → 1 → 4 (eos); row 1: 3 → 3 → 3 …
    expect(r.tokens).toEqual([
      [0, 1, 4],
      [3, 3, 3, 3, 3, 3],
    ]);
    expect(r.finishReasons).toEqual(['eos', 'length']);
    const s = await generate(model, [2], {
      maxNewTokens: 6,
      stopStrings: ['14'],
      decode: (ids) => ids.join(''),
    });
    expect(s.tokens).toEqual([[0, 1, 4]]);
    expect(s.finishReasons).toEqual(['stop']);
  });

  it('stops between steps when aborted and returns what it has', async () => {
    const { model, live } = scripted(7, table);
    const ac = new AbortController();
    const r = await generate(model, [2], {
      maxNewTokens: 10,
      signal: ac.signal,
      onToken: (_, step) => {
        if (step === 2) ac.abort();
      },
    });
    expect(r.tokens).toEqual([[0, 1, 4]]);
    expect(r.finishReasons).toEqual(['aborted']);
    expect(live()).toBe(0);
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens (HF formula)', async () => {
    // logits: token 0: 3.0 (seen in prompt), token 1: 2.0, token 2: -0.5 (seen), token 3: -0.6
    const { model } = scripted(4, () => [3, 2, -0.5, -0.6]);
    // penalty 1.4: 3/1.4 = 2.14 > 2 → 0 stays; penalty 1.6: 1.875 < 2 → 1
    expect((await generate(model, [0, 2], { maxNewTokens: 1, repetitionPenalty: 1.4 })).tokens).toEqual([
      [0],
    ]);
    expect((await generate(model, [0, 2], { maxNewTokens: 1, repetitionPenalty: 1.6 })).tokens).toEqual([
      [1],
    ]);
    // negative: with 1 and 0 out of reach the choice is between 2 (-0.5·p) and 3 (-0.6, unseen)
    const neg = scripted(4, () => [-9, -9, -0.5, -0.6]).model;
    expect((await generate(neg, [2], { maxNewTokens: 1, repetitionPenalty: 1.1 })).tokens).toEqual([[2]]); // -0.55
    expect((await generate(neg, [2], { maxNewTokens: 1, repetitionPenalty: 1.3 })).tokens).toEqual([[3]]); // -0.65
  });

  it('names bad options and a prompt longer than the position table in one line', async () => {
    const { model } = scripted(7, table, 8);
    const bad: [object, RegExp][] = [
      [{ maxNewTokens: 0 }, /maxNewTokens must be a positive integer, got 0/],
      [{ temperature: -1 }, /temperature must be a finite number ≥ 0, got -1/],
      [{ topK: 2.5 }, /topK must be a positive integer, got 2.5/],
      [{ topP: 0 }, /topP must be in \(0, 1\], got 0/],
      [{ repetitionPenalty: 0 }, /repetitionPenalty must be a finite number > 0, got 0/],
      [{ stopStrings: ['x'] }, /stopStrings needs a decode function/],
    ];
    for (const [o, re] of bad) {
      await expect(generate(model, [1], o)).rejects.toThrow(re);
      await expect(generate(model, [1], o)).rejects.toBeInstanceOf(ModelInputError);
    }
    await expect(generate(model, new Array(9).fill(1), {})).rejects.toThrow(
      /the prompt has 9 tokens but the model's position table holds 8/,
    );
    await expect(generate(model, [1, 1, 1], { maxNewTokens: 6 })).rejects.toThrow(
      /3 prompt tokens \+ maxNewTokens 6 exceed the model's 8 positions .* lower maxNewTokens to 5/,
    );
    await expect(generate(model, [], {})).rejects.toThrow(/the prompt is empty/);
  });
});

describe('generate (sampling)', () => {
  const logits = [1.2, 0.3, 2.0, -0.4, 1.9, 0.0];

  /** float64 definition: softmax(l/T), keep the k largest, then the smallest prefix with mass ≥ p, renormalise. */
  function expected(T: number, k: number, p: number): number[] {
    const order = logits.map((_, i) => i).sort((a, b) => logits[b] - logits[a]);
    const top = order.slice(0, k);
    const w = top.map((i) => Math.exp(logits[i] / T));
    const z = w.reduce((a, b) => a + b, 0);
    let acc = 0;
    const kept: number[] = [];
    for (let j = 0; j < top.length; j++) {
      kept.push(j);
      acc += w[j] / z;
      if (acc >= p) break;
    }
    const zk = kept.reduce((a, j) => a + w[j], 0);
    const out = new Array(logits.length).fill(0);
    for (const j of kept) out[top[j]] = w[j] / zk;
    return out;
  }

  it('draws with the frequencies of temperature / top-k / top-p', async () => {
    const { model } = scripted(6, () => logits);
    const N = 6000;
    for (const [T, k, p] of [
      [0.7, 4, 0.9],
      [1.5, 6, 1],
      [1, 3, 0.5],
    ] as const) {
      const r = await generate(model, [0], { maxNewTokens: 1, temperature: T, topK: k, topP: p, seed: 0 });
      expect(r.tokens[0]).toHaveLength(1);
      const counts = new Array(6).fill(0);
      const rows = new Array(N).fill([0]);
      const many = await generate(model, rows, {
        maxNewTokens: 1,
        temperature: T,
        topK: k,
        topP: p,
        seed: 5,
      });
      for (const [t] of many.tokens) counts[t]++;
      const want = expected(T, k, p);
      for (let i = 0; i < 6; i++) {
        if (want[i] === 0) expect(counts[i]).toBe(0);
        else
          expect(Math.abs(counts[i] / N - want[i])).toBeLessThan(
            5 * Math.sqrt((want[i] * (1 - want[i])) / N) + 1e-9,
          );
      }
    }
  });

  it('a seed gives the same tokens every time; another seed other tokens', async () => {
    const { model } = scripted(6, () => logits);
    const run = (seed: number) => generate(model, [0], { maxNewTokens: 40, temperature: 1.3, seed });
    const a = await run(11);
    expect((await run(11)).tokens).toEqual(a.tokens);
    expect((await run(12)).tokens).not.toEqual(a.tokens);
    // temperature 0 is greedy
    expect((await generate(model, [0], { maxNewTokens: 3, temperature: 0 })).tokens).toEqual([[2, 2, 2]]);
  });
});
