/**
 * Bad checkpoints and bad inputs are refused with errors naming what is wrong: weights stored in a
 * non-float dtype, a layer count that disagrees with the weights, ids that are not integers (named
 * as given, before any conversion), and non-finite model outputs (named by layer and weight).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@sea/backend-cpu';
import { add, gather, linear, type Tensor, tensor, useBackend } from '@sea/tensor';
import { wrap } from '@sea/tensor/backend';
import { writeSafetensors } from '@sea/tensor/node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertFiniteTensors,
  checkedForward,
  checkIds,
  countNonFinite,
  type IdsInput,
  ModelInputError,
  ModelLoadError,
  NonFiniteError,
  nonFiniteIn,
  openModelCheckpoint,
  readWeights,
  toHostIds,
  type WeightSpec,
  weightProblems,
} from '../src/index.js';

const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-model-common-rel-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const f32 = (n: number, v = 0.5) => ({
  dtype: 'float32' as const,
  shape: [n],
  data: new Float32Array(n).fill(v),
});
const spec = (name: string, n: number): WeightSpec => ({ name, shape: [n], why: `hidden_size=${n}` });
const layerSpecs = (layers: number) =>
  Array.from({ length: layers }, (_, i) => [spec(`layers.${i}.w`, 4), spec(`layers.${i}.b`, 4)]).flat();

describe('weights checked against the config at load', () => {
  it('a float weight stored as I32 is refused, naming the tensor and the dtypes allowed', async () => {
    const file = join(tmp, 'int.safetensors');
    await writeSafetensors(file, {
      'layers.0.w': { dtype: 'int32', shape: [4], data: new Int32Array([1, 2, 3, 4]) },
      'layers.0.b': f32(4),
    });
    const ckpt = await openModelCheckpoint(file);
    const before = backend.memory().buffers;
    await expect(readWeights(ckpt, layerSpecs(1), backend)).rejects.toThrow(
      /tensor 'layers\.0\.w' is stored as I32, expected a float dtype \(F64, F32, F16, BF16\)/,
    );
    expect(backend.memory().buffers).toBe(before);
    await ckpt.close();
  });

  it('F64, F32, F16 and BF16 float weights are accepted', async () => {
    const file = join(tmp, 'floats.safetensors');
    await writeSafetensors(
      file,
      { a: f32(4), b: f32(4), c: f32(4), d: f32(4) },
      {},
      { storage: { a: 'F64', b: 'F32', c: 'F16', d: 'BF16' } },
    );
    const ckpt = await openModelCheckpoint(file);
    const w = await readWeights(
      ckpt,
      ['a', 'b', 'c', 'd'].map((n) => spec(n, 4)),
      backend,
    );
    for (const t of w.values()) {
      expect(Array.from(await t.data())).toEqual([0.5, 0.5, 0.5, 0.5]);
      t.dispose();
    }
    await ckpt.close();
  });

  it('a config with fewer layers than the weights lists the unexpected layer tensors by name', async () => {
    const file = join(tmp, 'two-layers.safetensors');
    await writeSafetensors(file, {
      'layers.0.w': f32(4),
      'layers.0.b': f32(4),
      'layers.1.w': f32(4),
      'layers.1.b': f32(4),
      'layers.1.sea.x': f32(2),
    });
    const ckpt = await openModelCheckpoint(file);
    const err = await readWeights(ckpt, layerSpecs(1), backend).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(
      /2 unexpected tensor\(s\) not in the config's layout: 'layers\.1\.b', 'layers\.1\.w'/,
    );
    expect(err.message).not.toMatch(/sea\.x/);
    // more layers than the weights: every missing tensor by name
    const err3 = await readWeights(ckpt, layerSpecs(3), backend).catch((e) => e);
    expect(err3.message).toMatch(
      /missing 2 tensor\(s\): 'layers\.2\.w' \[4\] \(hidden_size=4\), 'layers\.2\.b' \[4\] \(hidden_size=4\)/,
    );
    expect(weightProblems(ckpt, layerSpecs(2))).toEqual([]);
    await ckpt.close();
  });
});

describe('ids are validated before any conversion', () => {
  const cases: [string, IdsInput, RegExp][] = [
    ['NaN', [1, Number.NaN, 2], /inputIds value NaN at \[0,1\] is NaN/],
    ['a fraction', [1, 1.5], /inputIds value 1\.5 at \[0,1\] is not an integer/],
    ['2^32 + 5', [2 ** 32 + 5], /inputIds value 4294967301 at \[0,0\] is outside the int32 range/],
    ['1e10', [[3], [1e10]], /inputIds value 10000000000 at \[1,0\] is outside the int32 range/],
    ['Infinity', [Number.POSITIVE_INFINITY], /value Infinity at \[0,0\] is infinite/],
    ['a string', ['7'] as unknown as number[], /value string "7" at \[0,0\] is not a number/],
  ];
  it.each(cases)('%s is refused, named as given', async (_, ids, re) => {
    const err = await toHostIds(ids, 'inputIds').catch((e) => e);
    expect(err).toBeInstanceOf(ModelInputError);
    expect(err.message).toMatch(re);
  });

  it('float tensors of ids are checked the same way; integral ones pass', async () => {
    const t = tensor(new Float32Array([1, 2.5]), [1, 2]);
    await expect(toHostIds(t, 'tokenTypeIds')).rejects.toThrow(/tokenTypeIds value 2\.5 at \[0,1\]/);
    t.dispose();
    const ok = tensor(new Float32Array([1, 2]), [1, 2]);
    expect(Array.from((await toHostIds(ok, 'inputIds')).values)).toEqual([1, 2]);
    ok.dispose();
  });

  it('negative and too-large integers reach the vocabulary check with their own value', async () => {
    const ids = await toHostIds([0, 70000], 'inputIds');
    expect(() => checkIds(ids, 50272)).toThrow(/input id 70000 at \[0,1\] is outside the vocabulary/);
  });
});

/** A two-layer toy model: embeddings, two linear layers, a head; any weight can be poisoned. */
function toyModel(poison?: { name: string; value: number }) {
  const V = 5;
  const d = 3;
  const rnd = (n: number, s: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + s) * 0.5);
  const w: Record<string, Float32Array> = {
    embed: rnd(V * d, 1),
    'layers.0.w': rnd(d * d, 2),
    'layers.1.w': rnd(d * d, 3),
    head: rnd(V * d, 4),
  };
  if (poison) w[poison.name][1] = poison.value;
  const shapes: Record<string, number[]> = {
    embed: [V, d],
    'layers.0.w': [d, d],
    'layers.1.w': [d, d],
    head: [V, d],
  };
  const weights = new Map(Object.entries(w).map(([n, v]) => [n, tensor(v, shapes[n]).keep()] as const));
  return {
    config: { numHiddenLayers: 2 },
    forwards: 0,
    async forward(ids: IdsInput, opts: { outputHiddenStates?: boolean } = {}) {
      this.forwards++;
      const h = await toHostIds(ids, 'inputIds');
      const idsT = tensor(h.values, [h.B, h.T], { dtype: 'int32' });
      const hidden: Tensor[] = [gather(weights.get('embed') as Tensor, idsT)];
      idsT.dispose();
      for (let i = 0; i < 2; i++) {
        const y = linear(hidden[i], weights.get(`layers.${i}.w`) as Tensor);
        hidden.push(add(y, hidden[i]));
        y.dispose();
      }
      const logits = linear(hidden[2], weights.get('head') as Tensor);
      if (opts.outputHiddenStates) return { logits, hiddenStates: hidden };
      for (const t of hidden) t.dispose();
      return { logits };
    },
    parameters: () => new Map([...weights].map(([n, t]) => [n, wrap(t.backend, t).keep()] as const)),
    buffers: () => new Map<string, Tensor>(),
    dispose: () => {
      for (const t of weights.values()) t.dispose();
    },
  };
}

describe('the non-finite guard', () => {
  it('counts NaN and infinities exactly', () => {
    expect(
      countNonFinite([1, Number.NaN, Number.POSITIVE_INFINITY, 2, Number.NEGATIVE_INFINITY, Number.NaN]),
    ).toEqual({
      nan: 2,
      posInf: 1,
      negInf: 1,
      first: 1,
    });
  });

  it('a finite tensor whose sum overflows float32 passes; one NaN anywhere does not', async () => {
    const big = tensor(new Float32Array(8).fill(3e38), [8]);
    expect(await nonFiniteIn(big)).toBeUndefined();
    const v = new Float32Array(1000).map((_, i) => Math.cos(i));
    for (const at of [0, 517, 999]) {
      const x = v.slice();
      x[at] = Number.NaN;
      const t = tensor(x, [10, 100]);
      expect(await nonFiniteIn(t)).toBe(`1 NaN of 1000 values (first at index ${at})`);
      t.dispose();
    }
    big.dispose();
  });

  it('a finite forward passes through unchanged, with one forward', async () => {
    const m = toyModel();
    const before = backend.memory().buffers;
    const out = await checkedForward(m, [0, 1, 4]);
    expect(m.forwards).toBe(1);
    expect(out.logits.shape).toEqual([1, 3, 5]);
    out.logits.dispose();
    expect(backend.memory().buffers).toBe(before);
    m.dispose();
  });

  it.each([
    ['embed', 'the embeddings'],
    ['layers.0.w', 'layer 0 (of 2)'],
    ['layers.1.w', 'layer 1 (of 2)'],
    ['head', 'the output head'],
  ])('a NaN in %s is named with the layer where the output first goes non-finite', async (name, where) => {
    const m = toyModel({ name, value: Number.NaN });
    const before = backend.memory().buffers;
    // id 0 then 1: row 1 of the embeddings holds the NaN of 'embed'
    const err = await checkedForward(m, [[0, 1, 2]]).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.message).toContain(`first non-finite output at ${where}`);
    expect(err.message).toContain(`'${name}' (1 NaN of `);
    expect(backend.memory().buffers).toBe(before);
    m.dispose();
  });

  it('assertFiniteTensors names every tensor holding NaN or infinities', async () => {
    const a = tensor(new Float32Array([1, Number.POSITIVE_INFINITY]), [2]);
    const b = tensor(new Float32Array([1, 2]), [2]);
    await expect(
      assertFiniteTensors(
        [
          ['a', a],
          ['b', b],
        ],
        'checkpoint',
      ),
    ).rejects.toThrow(
      "checkpoint: 1 tensor(s) hold non-finite values: 'a' (1 +Infinity of 2 values (first at index 1))",
    );
    a.dispose();
    b.dispose();
  });
});
