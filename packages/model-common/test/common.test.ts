import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@sea/backend-cpu';
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { createAttention } from '@sea/sparse-attention';
import { tensor, useBackend } from '@sea/tensor';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyActivation,
  attentionKindOf,
  checkIds,
  configFields,
  createLayerAttention,
  HF_ACTIVATIONS,
  ModelInputError,
  ModelLoadError,
  type ModelTensors,
  modelBuffers,
  modelParameters,
  openModelCheckpoint,
  parameterOverrides,
  readConfigJson,
  readSeaWeights,
  readWeights,
  toHostIds,
  toHostMask,
} from '../src/index.js';

const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-model-common-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A random [rows, cols] float32 matrix and its values. */
function rand(rows: number, cols: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: rows * cols }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  });
}

describe('token ids and masks', () => {
  it('flat, nested, shaped and tensor inputs all give host int32 [B,T]', async () => {
    expect(await toHostIds([5, 6, 7], 'inputIds')).toEqual({
      values: Int32Array.from([5, 6, 7]),
      B: 1,
      T: 3,
    });
    const nested = await toHostIds(
      [
        [1, 2],
        [3, 4],
      ],
      'inputIds',
    );
    expect([nested.B, nested.T, [...nested.values]]).toEqual([2, 2, [1, 2, 3, 4]]);
    const shaped = await toHostIds(Int32Array.from([1, 2, 3, 4, 5, 6]), 'inputIds', [3, 2]);
    expect([shaped.B, shaped.T]).toEqual([3, 2]);
    const t = tensor(Int32Array.from([9, 8, 7, 6]), [2, 2], { dtype: 'int32' });
    const fromTensor = await toHostIds(t, 'inputIds');
    t.dispose();
    expect([fromTensor.B, fromTensor.T, [...fromTensor.values]]).toEqual([2, 2, [9, 8, 7, 6]]);
  });

  it('ragged rows, a wrong tensor rank, values that do not fill the shape are ModelInputErrors', async () => {
    await expect(toHostIds([[1, 2], [3]], 'inputIds')).rejects.toThrow(
      /rows have different lengths \(2, 1\)/,
    );
    const t = tensor(Int32Array.from([1, 2, 3]), [3], { dtype: 'int32' });
    await expect(toHostIds(t, 'inputIds')).rejects.toThrow(ModelInputError);
    t.dispose();
    await expect(toHostIds([1, 2, 3], 'inputIds', [2, 2])).rejects.toThrow(
      /3 values do not fill shape \[2,2\]/,
    );
  });

  it('ids outside the vocabulary name their position; empty input is refused', () => {
    expect(() => checkIds({ values: Int32Array.from([0, 4, 5, 1]), B: 2, T: 2 }, 5)).toThrow(
      /input id 5 at \[1,0\] is outside the vocabulary \(vocab_size 5\)/,
    );
    expect(() => checkIds({ values: Int32Array.from([-1]), B: 1, T: 1 }, 5)).toThrow(
      /input id -1 at \[0,0\]/,
    );
    expect(() => checkIds({ values: new Int32Array(0), B: 1, T: 0 }, 5)).toThrow(/at least one token/);
  });

  it('the attention mask defaults to ones and must match the ids and hold 0/1', async () => {
    const ids = { values: Int32Array.from([1, 2, 3, 4]), B: 2, T: 2 };
    expect([...(await toHostMask(undefined, ids))]).toEqual([1, 1, 1, 1]);
    expect([...(await toHostMask([1, 1, 0, 1], ids))]).toEqual([1, 1, 0, 1]);
    await expect(toHostMask([[1, 1, 1]], ids)).rejects.toThrow(
      /attentionMask has shape \[1,3\], inputIds \[2,2\]/,
    );
    await expect(toHostMask([1, 2, 1, 1], ids)).rejects.toThrow(/0 and 1 only, got 2/);
  });
});

describe('checkpoints checked against the config', () => {
  const file = join(tmp, 'model.safetensors');
  const a = rand(3, 4, 1);
  const b = rand(1, 5, 2);
  beforeAll(() =>
    writeSafetensors(file, {
      'enc.a': { dtype: 'float32', shape: [3, 4], data: a },
      'enc.b': { dtype: 'float32', shape: [5], data: b },
      'layers.0.sea.x': { dtype: 'float32', shape: [2], data: Float32Array.from([1.5, -2]) },
    }),
  );

  it('reads every tensor of the specs with its values; optional absent ones are skipped', async () => {
    const ckpt = await openModelCheckpoint(file);
    const w = await readWeights(
      ckpt,
      [
        { name: 'enc.a', shape: [3, 4], why: 'a' },
        { name: 'enc.b', shape: [5], why: 'b' },
        { name: 'enc.c', shape: [7], why: 'c', optional: true },
      ],
      backend,
    );
    expect([...w.keys()]).toEqual(['enc.a', 'enc.b']);
    expect(await w.get('enc.a')?.data()).toEqual(a);
    expect(await w.get('enc.b')?.data()).toEqual(b);
    for (const t of w.values()) t.dispose();
    const sea = await readSeaWeights(ckpt, 'layers.0.sea.', backend);
    expect(Object.keys(sea)).toEqual(['x']);
    expect([...(await sea.x.data())]).toEqual([1.5, -2]);
    sea.x.dispose();
    expect(await readSeaWeights(null, 'layers.0.sea.', backend)).toEqual({});
    await ckpt.close();
  });

  it('names every missing or misshapen tensor with the config keys, and reads nothing then', async () => {
    const before = backend.memory().buffers;
    const ckpt = await openModelCheckpoint(file);
    await expect(
      readWeights(
        ckpt,
        [
          { name: 'enc.a', shape: [4, 3], why: 'hidden_size' },
          { name: 'enc.z', shape: [2], why: 'vocab_size' },
        ],
        backend,
      ),
    ).rejects.toThrow(
      /missing 1 tensor\(s\): 'enc\.z' \[2\] \(vocab_size\); tensor 'enc\.a' has shape \[3,4\], expected \[4,3\] from hidden_size/,
    );
    expect(backend.memory().buffers).toBe(before);
    await ckpt.close();
  });

  it('a truncated file is a ModelLoadError that says to re-save or re-download', async () => {
    const bad = join(tmp, 'bad.safetensors');
    await writeSafetensors(bad, { w: { dtype: 'float32', shape: [64], data: rand(8, 8, 3) } });
    truncateSync(bad, 100);
    await expect(openModelCheckpoint(bad)).rejects.toThrow(ModelLoadError);
    await expect(openModelCheckpoint(bad)).rejects.toThrow(/re-save or re-download/);
  });

  it('opens the same tensors the plain reader does', async () => {
    const ckpt = await openCheckpoint(file);
    expect(ckpt.names().sort()).toEqual(['enc.a', 'enc.b', 'layers.0.sea.x']);
    await ckpt.close();
  });
});

describe('attention per layer and parameter bookkeeping', () => {
  it('attention kinds by name or by layer; an unknown name is a ModelLoadError', () => {
    expect(attentionKindOf(undefined, 0)).toBe('dense');
    expect(attentionKindOf((l) => (l === 1 ? 'sea' : 'dense'), 1)).toBe('sea');
    expect(() => attentionKindOf('flash' as never, 3)).toThrow(/layer 3 is 'flash'/);
    expect(() =>
      createLayerAttention(
        'sea',
        { causal: true, heads: 2, headDim: 8, scoreScale: 1, maxPositions: 16 },
        { seaConfig: { k: 0 }, defaults: { predictorLength: 8, k: 2, nbFeatureFactor: 1 }, seed: 0, backend },
      ),
    ).toThrow(ModelLoadError);
  });

  it('parameters, buffers and per-call overrides of model and module weights', async () => {
    const sea = createAttention(
      'sea',
      {
        causal: true,
        heads: 2,
        headDim: 8,
        scoreScale: 1,
        maxPositions: 16,
        predictorLength: 8,
        k: 2,
        nbFeatureFactor: 1,
      },
      { seed: 1, backend },
    );
    const dense = createAttention(
      'dense',
      { causal: true, heads: 2, headDim: 8, scoreScale: 1 },
      { backend },
    );
    const w = tensor(rand(2, 3, 4), [2, 3]);
    const m: ModelTensors = {
      weights: new Map([['embed.weight', w]]),
      modules: [dense, sea],
      moduleName: (i, n) => `layers.${i}.sea.${n}`,
    };
    const params = modelParameters(m);
    const seaNames = Object.keys(sea.weights).filter((n) => n !== PROJECTION_WEIGHT);
    expect([...params.keys()]).toEqual(['embed.weight', ...seaNames.map((n) => `layers.1.sea.${n}`)]);
    const buffers = modelBuffers(m);
    expect([...buffers.keys()]).toEqual([`layers.1.sea.${PROJECTION_WEIGHT}`]);
    for (const t of [...params.values(), ...buffers.values()]) t.dispose();
    expect(w.isDisposed).toBe(false);

    const w2 = tensor(rand(2, 3, 5), [2, 3]);
    const lookup = parameterOverrides(m, new Map([['embed.weight', w2]]), (s) => new ModelInputError(s));
    expect(lookup(w)).toBe(w2);
    expect(lookup(w2)).toBe(w2);
    const fail = (s: string) => new ModelInputError(s);
    expect(() => parameterOverrides(m, new Map([['nope', w2]]), fail)).toThrow(
      /'nope' is not a parameter or buffer of this model/,
    );
    const wrong = tensor(rand(3, 2, 6), [3, 2]);
    expect(() => parameterOverrides(m, new Map([['embed.weight', wrong]]), fail)).toThrow(
      /'embed\.weight' is float32 \[3,2\], expected float32 \[2,3\]/,
    );
    for (const t of [w, w2, wrong]) t.dispose();
    sea.dispose();
    dense.dispose();
  });
});

describe('config.json and activations', () => {
  it("reads a folder's config.json; a file, a folder without one and bad JSON are ModelLoadErrors", async () => {
    const dir = join(tmp, 'cfg');
    mkdirSync(dir, { recursive: true });
    await expect(readConfigJson(dir)).rejects.toThrow(/has no config\.json/);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "opt", "hidden_size": 8');
    await expect(readConfigJson(dir)).rejects.toThrow(/config\.json is not valid JSON/);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "opt", "hidden_size": 8}');
    expect(await readConfigJson(dir)).toEqual({ model_type: 'opt', hidden_size: 8 });
    await expect(readConfigJson(join(dir, 'config.json'))).rejects.toThrow(ModelLoadError);
    await expect(readConfigJson(join(dir, 'config.json'))).rejects.toThrow(/is not a folder/);
  });

  it('configFields: each key read by its type, defaults for absent keys, a ModelLoadError naming the key', () => {
    const c = configFields(
      { model_type: 'opt', hidden_size: 12, num_attention_heads: 3, eps: 1e-5, flag: false, act: 'gelu_new' },
      'opt',
    );
    expect(c.heads({ hidden: 768, heads: 12 })).toEqual({ hiddenSize: 12, numAttentionHeads: 3 });
    expect([c.num('eps'), c.num('absent', 7), c.posInt('absent', 5), c.bool('flag', true)]).toEqual([
      1e-5,
      7,
      5,
      false,
    ]);
    expect(c.activation('act', 'relu')).toBe('gelu_new');
    expect(c.activation('absent', 'relu')).toBe('relu');
    const bad: [() => unknown, RegExp][] = [
      [() => configFields([1], 'opt'), /config\.json is not a JSON object/],
      [
        () => configFields({ model_type: 'bert' }, 'opt'),
        /model_type "bert"; @sea\/opt loads only 'opt' models \(use @sea\/bert\)/,
      ],
      [
        () => configFields({ model_type: 'gpt2' }, 'bert'),
        /model_type "gpt2"; @sea\/bert loads only 'bert' models$/,
      ],
      [() => c.num('act'), /'act' must be a number, got "gelu_new"/],
      [() => c.posInt('eps'), /'eps' must be a positive integer, got 0\.00001/],
      [
        () => configFields({ model_type: 'opt', num_hidden_layers: 5000 }, 'opt').posInt('num_hidden_layers'),
        /is 5000, above the limit of 4096/,
      ],
      [() => c.bool('eps', true), /'eps' must be true or false, got 0\.00001/],
      [() => c.activation('eps', 'relu'), /eps 0\.00001 is not supported \(supported: relu, gelu/],
      [
        () =>
          configFields({ model_type: 'opt', hidden_size: 10, num_attention_heads: 3 }, 'opt').heads({
            hidden: 768,
            heads: 12,
          }),
        /hidden_size 10 is not divisible by num_attention_heads 3/,
      ],
    ];
    for (const [call, message] of bad) {
      expect(call).toThrow(ModelLoadError);
      expect(call).toThrow(message);
    }
  });

  it("each activation name computes transformers' definition (erf GELU, tanh GELU, SiLU)", async () => {
    const xs = [-3.1, -1, -0.25, 0, 0.4, 1.7, 5];
    // float64 definitions, from the formulas (not from the backend's kernels)
    const erf = (x: number) => {
      // Abramowitz–Stegun 7.1.26 is too coarse; a series/continued fraction to 1e-15 instead
      let sum = x;
      let term = x;
      for (let n = 1; n < 200; n++) {
        term *= (-x * x) / n;
        sum += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const defs: Record<string, (x: number) => number> = {
      relu: (x) => Math.max(x, 0),
      gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
      gelu_new: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
      silu: (x) => x / (1 + Math.exp(-x)),
      tanh: (x) => Math.tanh(x),
    };
    defs.gelu_pytorch_tanh = defs.gelu_new;
    defs.gelu_fast = defs.gelu_new;
    defs.swish = defs.silu;
    expect(Object.keys(defs).sort()).toEqual([...HF_ACTIVATIONS].sort());
    for (const name of HF_ACTIVATIONS) {
      const x = tensor(new Float64Array(xs), [xs.length], { dtype: 'float64' });
      const y = applyActivation(name, x);
      const got = await y.data();
      for (const [i, v] of xs.entries()) expect(got[i], `${name}(${v})`).toBeCloseTo(defs[name](v), 12);
      x.dispose();
      y.dispose();
    }
    expect(() => applyActivation('mish' as never, tensor([1], [1]))).toThrow(
      /activation 'mish' is not supported/,
    );
  });
});
