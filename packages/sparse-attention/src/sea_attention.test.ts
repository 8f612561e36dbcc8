// SeaAttention as a whole: dense and sparse paths agree (masks and outputs), causality, padding,
// T = 1, parameter counts from docs/algorithm.md §4c, weight validation, config errors, memory hygiene.
import { CpuBackend } from '@sea/backend-cpu';
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { csrToDense } from '@sea/mask';
import * as sea from '@sea/tensor';
import { describe, expect, it, vi } from 'vitest';
import { relErr } from '../test/reference.js';
import { SeaAttention, type SeaAttentionConfig } from './index.js';

const backend = new CpuBackend();
sea.useBackend(backend);

function qkv(seed: number, B: number, H: number, T: number, D: number): sea.Tensor[] {
  const rng = new sea.Rng(seed);
  return [0, 1, 2].map(() => sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D)), [B, H, T, D]));
}

const causalCfg: SeaAttentionConfig = {
  causal: true,
  heads: 3,
  headDim: 8,
  predictorLength: 8,
  k: 4,
  nbFeatureFactor: 1,
  maxPositions: 64,
};
const bidirCfg: SeaAttentionConfig = {
  causal: false,
  heads: 3,
  headDim: 8,
  predictorLength: 8,
  k: 4,
  nbFeatureFactor: 1,
};

async function denseMaskOf(m: sea.CsrMatrix | sea.Tensor | undefined): Promise<Uint8Array> {
  if (m instanceof sea.CsrMatrix) {
    const d = await csrToDense(m);
    const v = (await d.data()) as Uint8Array;
    d.dispose();
    return v;
  }
  return (await (m as sea.Tensor).data()) as Uint8Array;
}

describe('SeaAttention: dense and sparse paths agree while L/K ≤ k', () => {
  const cases: [string, SeaAttentionConfig, number[] | null][] = [
    ['causal', causalCfg, null],
    ['bidirectional', bidirCfg, null],
    ['bidirectional with padding', bidirCfg, [32, 19]],
    ['bidirectional with padding, per-query top-k', { ...bidirCfg, topkMode: 'query' }, [32, 11]],
    ['bidirectional with padding, per-head top-k', { ...bidirCfg, topkMode: 'head' }, [32, 23]],
  ];
  for (const [name, cfg, lengths] of cases) {
    it(name, async () => {
      const [B, T] = [2, 32]; // ⌈32/8⌉ = 4 = k
      const layer = SeaAttention.create(cfg, { seed: 5 });
      const [q, k, v] = qkv(9, B, cfg.heads, T, cfg.headDim);
      const keyValid = lengths
        ? sea.tensor(
            Array.from({ length: B * T }, (_, i) => i % T < lengths[Math.floor(i / T)]),
            [B, T],
            { dtype: 'bool' },
          )
        : undefined;
      const before = backend.memory().bytes;
      const s = await layer.forward(q, k, v, {
        keyValid,
        path: 'sparse',
        returnMask: true,
        returnEstimate: true,
      });
      const d = await layer.forward(q, k, v, {
        keyValid,
        path: 'dense',
        returnMask: true,
        returnEstimate: true,
      });
      expect(s.context.shape).toEqual([B, T, cfg.heads * cfg.headDim]);
      expect(s.mask).toBeInstanceOf(sea.CsrMatrix);
      expect((d.mask as sea.Tensor).shape).toEqual([B, cfg.heads, T, T]);
      const [sm, dm] = [await denseMaskOf(s.mask), await denseMaskOf(d.mask)];
      expect(sm).toEqual(dm);
      expect(dm.reduce((a, x) => a + x, 0)).toBeGreaterThan(0);
      expect(relErr(await s.context.data(), await d.context.data())).toBeLessThan(1e-5);
      expect(await s.estimate?.data()).toEqual(await d.estimate?.data());
      if (lengths) {
        // padded rows and keys: no mask entry, and Â is zero on padded rows
        const est = (await s.estimate?.data()) as Float32Array;
        const [H, K] = [cfg.heads, cfg.predictorLength];
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            for (let t = 0; t < T; t++) {
              for (let j = 0; j < T; j++) {
                if (t >= lengths[b] || j >= lengths[b]) expect(dm[((b * H + h) * T + t) * T + j]).toBe(0);
              }
              if (t >= lengths[b])
                for (let m = 0; m < K; m++) expect(est[((b * H + h) * T + t) * K + m]).toBe(0);
            }
          }
        }
      }
      for (const o of [s, d]) {
        o.context.dispose();
        o.estimate?.dispose();
        (o.mask as { dispose(): void }).dispose();
      }
      expect(backend.memory().bytes).toBe(before); // nothing left behind
      for (const t of [q, k, v, keyValid]) t?.dispose();
      layer.dispose();
    });
  }
});

describe('SeaAttention: causality', () => {
  for (const path of ['sparse', 'dense'] as const) {
    it(`${path}: changing row t leaves every earlier row of the estimate, mask and context bit-identical`, async () => {
      const [B, H, T, D] = [1, 3, 40, 8];
      const layer = SeaAttention.create(causalCfg, { seed: 2 });
      const [q, k, v] = qkv(3, B, H, T, D);
      const t0 = 23;
      const bump = async (x: sea.Tensor) => {
        const a = (await x.data()) as Float32Array;
        for (let h = 0; h < H; h++) for (let d = 0; d < D; d++) a[(h * T + t0) * D + d] = 1000 * (d + 1);
        return sea.tensor(a, x.shape);
      };
      const [q2, k2, v2] = [await bump(q), await bump(k), await bump(v)];
      const opts = { path, returnMask: true, returnEstimate: true };
      const a = await layer.forward(q, k, v, opts);
      const b = await layer.forward(q2, k2, v2, opts);
      const C = H * D;
      const [ca, cb] = [await a.context.data(), await b.context.data()];
      expect(ca.slice(0, t0 * C)).toEqual(cb.slice(0, t0 * C));
      expect(ca.slice(t0 * C, (t0 + 1) * C)).not.toEqual(cb.slice(t0 * C, (t0 + 1) * C));
      const K = causalCfg.predictorLength;
      const [ea, eb] = [
        (await a.estimate?.data()) as Float32Array,
        (await b.estimate?.data()) as Float32Array,
      ];
      for (let h = 0; h < H; h++) {
        expect(ea.slice(h * T * K, (h * T + t0) * K)).toEqual(eb.slice(h * T * K, (h * T + t0) * K));
      }
      const [ma, mb] = [await denseMaskOf(a.mask), await denseMaskOf(b.mask)];
      for (let h = 0; h < H; h++)
        expect(ma.slice(h * T * T, (h * T + t0) * T)).toEqual(mb.slice(h * T * T, (h * T + t0) * T));
      if (a.mask instanceof sea.CsrMatrix && b.mask instanceof sea.CsrMatrix) {
        const [ra, rb] = [(await a.mask.crow.data()) as Int32Array, (await b.mask.crow.data()) as Int32Array];
        expect(ra.slice(0, t0 + 1)).toEqual(rb.slice(0, t0 + 1));
        const n = ra[t0];
        expect(((await a.mask.col.data()) as Int32Array).slice(0, n)).toEqual(
          ((await b.mask.col.data()) as Int32Array).slice(0, n),
        );
      }
      // causal masks never look ahead
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) for (let j = t + 1; j < T; j++) expect(ma[(h * T + t) * T + j]).toBe(0);
      for (const o of [a, b]) {
        o.context.dispose();
        o.estimate?.dispose();
        (o.mask as { dispose(): void }).dispose();
      }
      for (const t of [q, k, v, q2, k2, v2]) t.dispose();
      layer.dispose();
    });
  }

  it('early causal rows (t+1 ≤ k) attend to every visible key in every head', async () => {
    const layer = SeaAttention.create({ ...causalCfg, k: 6 }, { seed: 4 });
    const [q, k, v] = qkv(5, 1, 3, 30, 8);
    const out = await layer.forward(q, k, v, { returnMask: true });
    const m = await denseMaskOf(out.mask);
    for (let h = 0; h < 3; h++)
      for (let t = 0; t < 6; t++) for (let j = 0; j <= t; j++) expect(m[(h * 30 + t) * 30 + j]).toBe(1);
    (out.mask as sea.CsrMatrix).dispose();
    out.context.dispose();
    for (const t of [q, k, v]) t.dispose();
    layer.dispose();
  });
});

describe('SeaAttention: edges, weights and errors', () => {
  for (const cfg of [causalCfg, bidirCfg]) {
    it(`T = 1 works (${cfg.causal ? 'causal' : 'bidirectional'}), both paths`, async () => {
      const layer = SeaAttention.create(cfg, { seed: 1 });
      const [q, k, v] = qkv(1, 2, 3, 1, 8);
      for (const path of ['sparse', 'dense'] as const) {
        const out = await layer.forward(q, k, v, { path });
        expect(out.context.shape).toEqual([2, 1, 24]);
        expect(Array.from(await out.context.data()).every(Number.isFinite)).toBe(true);
        out.context.dispose();
      }
      for (const t of [q, k, v]) t.dispose();
      layer.dispose();
    });
  }

  it('parameter counts match docs/algorithm.md §4c (OPT-125m 191,070; BERT-base 105,006); the projection is a buffer', () => {
    const opt = SeaAttention.create({
      causal: true,
      heads: 12,
      headDim: 64,
      predictorLength: 256,
      k: 64,
      nbFeatureFactor: 8,
    });
    expect(opt.parameterCount()).toBe(191_070);
    expect(opt.weights[PROJECTION_WEIGHT].shape).toEqual([33, 64]);
    opt.dispose();
    const bert = SeaAttention.create({
      causal: false,
      heads: 12,
      headDim: 64,
      predictorLength: 128,
      k: 7,
      nbFeatureFactor: 1,
    });
    expect(bert.parameterCount()).toBe(105_006);
    expect(bert.weights[PROJECTION_WEIGHT].shape).toEqual([266, 64]);
    bert.dispose();
  });

  it('fromWeights reproduces create and validates names and shapes', async () => {
    const a = SeaAttention.create(bidirCfg, { seed: 8 });
    const copy = (w: Record<string, sea.Tensor>) =>
      Object.fromEntries(Object.entries(w).map(([n, t]) => [n, sea.tensor(t.dataSync(), t.shape).keep()]));
    const b = SeaAttention.fromWeights(bidirCfg, copy(a.weights));
    const [q, k, v] = qkv(2, 1, 3, 12, 8);
    const [oa, ob] = [await a.forward(q, k, v), await b.forward(q, k, v)];
    expect(await oa.context.data()).toEqual(await ob.context.data());
    const w = copy(a.weights);
    expect(() => SeaAttention.fromWeights(bidirCfg, { ...w, extra: sea.zeros([1]) })).toThrow(
      /unexpected weight 'extra'/,
    );
    const { [PROJECTION_WEIGHT]: _p, ...noProj } = w;
    expect(() => SeaAttention.fromWeights(bidirCfg, noProj)).toThrow(/missing weight 'performer.projection'/);
    expect(() =>
      SeaAttention.fromWeights(bidirCfg, { ...w, [PROJECTION_WEIGHT]: sea.zeros([5, 8]) }),
    ).toThrow(/shape \[16,8\]/);
    expect(() => SeaAttention.fromWeights(bidirCfg, { ...w, 'nu.weight': sea.zeros([3, 3]) })).toThrow(
      /nu\.weight/,
    );
    for (const t of [q, k, v, oa.context, ob.context]) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('bad configs and inputs are clear errors', async () => {
    expect(() => SeaAttention.create({ ...causalCfg, k: 0 })).toThrow(/k must be a positive integer/);
    expect(() => SeaAttention.create({ ...causalCfg, k: -2 })).toThrow(/k must be a positive integer/);
    expect(() => SeaAttention.create({ ...causalCfg, predictorLength: 0 })).toThrow(
      /predictorLength \(K\) must be a positive integer/,
    );
    expect(() => SeaAttention.create({ ...causalCfg, predictorLength: 6 })).toThrow(/multiple of 4/);
    expect(() => SeaAttention.create({ ...bidirCfg, predictorLength: 7 })).toThrow(/multiple of 2/);
    expect(() => SeaAttention.create({ ...causalCfg, topkMode: 'batch' })).toThrow(/causal_batch/);
    expect(() => SeaAttention.create({ ...bidirCfg, scoreScale: -1 })).toThrow(/scoreScale/);
    expect(() => SeaAttention.create({ ...bidirCfg, nbFeatureFactor: 0 })).toThrow(/feature factor/);
    const layer = SeaAttention.create(causalCfg);
    const [q, k, v] = qkv(1, 1, 3, 10, 8);
    const [k2] = qkv(1, 1, 3, 9, 8);
    await expect(layer.forward(q, k2, v)).rejects.toThrow(/must have one shape/);
    await expect(layer.forward(sea.zeros([1, 2, 10, 8]), k, v)).rejects.toThrow(
      /expected q of shape \[B,3,T,8\]/,
    );
    await expect(
      layer.forward(sea.zeros([1, 3, 0, 8]), sea.zeros([1, 3, 0, 8]), sea.zeros([1, 3, 0, 8])),
    ).rejects.toThrow(/T ≥ 1/);
    await expect(layer.forward(q, k, v, { keyValid: sea.zeros([1, 9], { dtype: 'bool' }) })).rejects.toThrow(
      /keyValid bool \[1,10\]/,
    );
    const [ql, kl, vl] = qkv(1, 1, 3, 65, 8);
    await expect(layer.forward(ql, kl, vl)).rejects.toThrow(/exceeds the causal position table/);
    const bl = SeaAttention.create(bidirCfg);
    const left = sea.tensor([false, true, true, true, true, true, true, true, true, true], [1, 10], {
      dtype: 'bool',
    });
    await expect(bl.forward(q, k, v, { keyValid: left })).rejects.toThrow(/only right padding/);
    layer.dispose();
    bl.dispose();
  });
});

describe('SeaAttention: valid lengths known on the host', () => {
  it('validLengths gives what reading keyValid gives, and wrong ones are a ShapeError', async () => {
    const [B, T, lengths] = [2, 32, [32, 13]];
    for (const cfg of [bidirCfg, causalCfg]) {
      const layer = SeaAttention.create(cfg, { seed: 6 });
      const [q, k, v] = qkv(10, B, cfg.heads, T, cfg.headDim);
      const keyValid = sea.tensor(
        Array.from({ length: B * T }, (_, i) => i % T < lengths[Math.floor(i / T)]),
        [B, T],
        { dtype: 'bool' },
      );
      const reads = vi.spyOn(keyValid, 'data');
      const read = await layer.forward(q, k, v, { keyValid, path: 'sparse', returnEstimate: true });
      expect(reads).toHaveBeenCalledTimes(1);
      const given = await layer.forward(q, k, v, {
        keyValid,
        validLengths: lengths,
        path: 'sparse',
        returnEstimate: true,
      });
      expect(reads).toHaveBeenCalledTimes(1); // not read back again
      expect(await given.context.data()).toEqual(await read.context.data());
      expect(await given.estimate?.data()).toEqual(await read.estimate?.data());
      for (const bad of [[32], [32, 33], [32, 1.5], [-1, 4]]) {
        await expect(layer.forward(q, k, v, { keyValid, validLengths: bad })).rejects.toThrow(
          /validLengths must be 2 whole numbers in \[0, 32\]/,
        );
      }
      for (const o of [read, given]) {
        o.context.dispose();
        o.estimate?.dispose();
      }
      for (const t of [q, k, v, keyValid]) t.dispose();
      layer.dispose();
    }
  });
});
