// loadModel on the distilled model kept in the repository (models/opt-small-wt2-sea: SEA, k = 32,
// K = 128, nbf 8 per its README and config.json), on a sharded copy of it, and on a small BERT folder.
// The references are the architecture loaders called with every setting spelled out by hand.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@sea/backend-cpu';
import { BertForSequenceClassification, bertWeightSpecs, parseBertConfig } from '@sea/bert';
import { dataFile } from '@sea/data';
import { OptForCausalLM } from '@sea/opt';
import { Rng, setBackend, type Tensor } from '@sea/tensor';
import { openCheckpoint, writeSafetensors } from '@sea/tensor/node';
import { OptTokenizer } from '@sea/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, loadTokenizer, modelSettings } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODEL = resolve(here, '../../../models/opt-small-wt2-sea');
const tmp = mkdtempSync(join(tmpdir(), 'sea-models-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const T = 96;
let ids: Int32Array;

async function logitsOf(model: OptForCausalLM): Promise<Float32Array> {
  try {
    const out = await model.forward(ids, { shape: [1, T] });
    const v = (await out.logits.data()) as Float32Array;
    out.logits.dispose();
    return v;
  } finally {
    model.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  await setBackend('cpu');
  const text = readFileSync(dataFile('wikitext2TestJoined'), 'utf8').slice(0, 4000);
  ids = Int32Array.from((await OptTokenizer.load()).encode(text, { addBos: false }).slice(0, T));
});

describe('loadModel: the distilled OPT folder', () => {
  let byHand: Float32Array;
  beforeAll(async () => {
    byHand = await logitsOf(
      await OptForCausalLM.load(MODEL, {
        attention: 'sea',
        seaConfig: { k: 32, predictorLength: 128, nbFeatureFactor: 8 },
        seaWeights: join(MODEL, 'sea.safetensors'),
      }),
    );
  });

  it("runs SEA with the folder's k and K and its SEA weights, without being told", async () => {
    const s = await modelSettings(MODEL);
    expect(s).toMatchObject({
      modelType: 'opt',
      attention: 'sea',
      attentionFromFolder: true,
      seaConfig: { k: 32, predictorLength: 128, nbFeatureFactor: 8 },
      seaWeights: join(MODEL, 'sea.safetensors'),
      warnings: [],
    });
    const warnings: string[] = [];
    const model = await loadModel(MODEL, { onWarning: (m) => warnings.push(m) });
    expect(model).toBeInstanceOf(OptForCausalLM);
    expect(model.attentionKinds).toEqual(['sea', 'sea', 'sea', 'sea']);
    expect(maxAbsDiff(await logitsOf(model as OptForCausalLM), byHand)).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('k is a real setting: another k gives other logits; caller options win over the folder', async () => {
    const k8 = await logitsOf(await loadModel(MODEL, { modelType: 'opt', k: 8 }));
    expect(maxAbsDiff(k8, byHand)).toBeGreaterThan(1e-3);
    const byHandK8 = await logitsOf(
      await OptForCausalLM.load(MODEL, {
        attention: 'sea',
        seaConfig: { k: 8, predictorLength: 128, nbFeatureFactor: 8 },
        seaWeights: join(MODEL, 'sea.safetensors'),
      }),
    );
    expect(maxAbsDiff(k8, byHandK8)).toBe(0);
  });

  it('runs dense only when asked, and says so', async () => {
    const warnings: string[] = [];
    const dense = await loadModel(MODEL, {
      modelType: 'opt',
      attention: 'dense',
      onWarning: (m) => warnings.push(m),
    });
    expect(dense.attentionKinds).toEqual(['dense', 'dense', 'dense', 'dense']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /made for sea attention and has SEA weights; running dense attention as asked/,
    );
    const d = await logitsOf(dense);
    expect(maxAbsDiff(d, await logitsOf(await OptForCausalLM.load(MODEL)))).toBe(0);
    expect(maxAbsDiff(d, byHand)).toBeGreaterThan(1e-3);
  });

  it('refuses a K other than the one its SEA weights were trained with, unless fresh weights are asked for', async () => {
    await expect(loadModel(MODEL, { predictorLength: 64 })).rejects.toThrow(
      /predictorLength 64 differs from the predictor_length 128 .*seaWeights: 'fresh'/,
    );
    const fresh = await loadModel(MODEL, { modelType: 'opt', predictorLength: 64, seaWeights: 'fresh' });
    expect(fresh.attentionKinds).toEqual(['sea', 'sea', 'sea', 'sea']);
    fresh.dispose();
  });

  it('reads the folder’s own tokenizer files', async () => {
    const tok = (await loadTokenizer(MODEL)) as OptTokenizer;
    expect(tok.encode('Hello, my name is')).toEqual([2, 31414, 6, 127, 766, 16]);
  });

  it('loads the same model from shards (model.safetensors.index.json)', async () => {
    const dir = join(tmp, 'sharded');
    mkdirSync(dir, { recursive: true });
    for (const f of ['config.json', 'sea.safetensors', 'vocab.json', 'merges.txt'])
      copyFileSync(join(MODEL, f), join(dir, f));
    const ckpt = await openCheckpoint(MODEL);
    const names = ckpt.names().sort();
    const half = Math.ceil(names.length / 2);
    const weightMap: Record<string, string> = {};
    for (const [s, part] of [names.slice(0, half), names.slice(half)].entries()) {
      const file = `model-0000${s + 1}-of-00002.safetensors`;
      const tensors: Record<string, Tensor> = {};
      for (const n of part) {
        tensors[n] = await ckpt.readTensor(n);
        weightMap[n] = file;
      }
      await writeSafetensors(join(dir, file), tensors);
      for (const t of Object.values(tensors)) t.dispose();
    }
    await ckpt.close();
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: {}, weight_map: weightMap }),
    );
    const model = await loadModel(dir, { modelType: 'opt' });
    expect(model.attentionKinds).toEqual(['sea', 'sea', 'sea', 'sea']);
    expect(maxAbsDiff(await logitsOf(model), byHand)).toBe(0);
  });
});

describe('loadModel: BERT folders and errors', () => {
  const bertDir = join(tmp, 'bert');
  beforeAll(async () => {
    const config = {
      model_type: 'bert',
      architectures: ['BertForSequenceClassification'],
      vocab_size: 30522,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 64,
      hidden_act: 'gelu',
      max_position_embeddings: 128,
      type_vocab_size: 2,
      layer_norm_eps: 1e-12,
      num_labels: 2,
      id2label: { 0: 'LABEL_0', 1: 'LABEL_1' },
      label2id: { LABEL_0: 0, LABEL_1: 1 },
      sea: { attention: 'sea', k: 4, predictor_length: 32, nbf: 1 },
    };
    mkdirSync(bertDir, { recursive: true });
    writeFileSync(join(bertDir, 'config.json'), JSON.stringify(config));
    const rng = new Rng(7);
    const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
    for (const s of bertWeightSpecs(parseBertConfig(config))) {
      const data = new Float32Array(s.shape.reduce((a, b) => a * b, 1));
      rng.fillNormal(data, 0, 0.02);
      tensors[s.name] = { dtype: 'float32', shape: [...s.shape], data };
    }
    await writeSafetensors(join(bertDir, 'model.safetensors'), tensors);
  });

  it('model_type bert gives the BERT classifier with the sea block’s settings (fresh SEA weights)', async () => {
    const s = await modelSettings(bertDir);
    expect(s).toMatchObject({
      modelType: 'bert',
      attention: 'sea',
      seaConfig: { k: 4, predictorLength: 32, nbFeatureFactor: 1 },
      seaWeights: undefined,
    });
    const model = await loadModel(bertDir);
    expect(model).toBeInstanceOf(BertForSequenceClassification);
    expect(model.attentionKinds).toEqual(['sea', 'sea']);
    const byHand = await BertForSequenceClassification.load(bertDir, {
      attention: 'sea',
      seaConfig: { k: 4, predictorLength: 32, nbFeatureFactor: 1 },
    });
    const input = Int32Array.from([101, 7592, 2088, 1010, 2023, 2003, 1037, 3231, 102]);
    const a = await (model as BertForSequenceClassification).forward(input);
    const b = await byHand.forward(input);
    expect(Array.from((await a.logits.data()) as Float32Array)).toEqual(
      Array.from((await b.logits.data()) as Float32Array),
    );
    for (const o of [a, b]) {
      o.logits.dispose();
      o.pooled.dispose();
    }
    model.dispose();
    byHand.dispose();
    await expect(loadModel(bertDir, { modelType: 'opt' })).rejects.toThrow(
      /holds a 'bert' model .* but a 'opt' model was asked for/,
    );
  });

  it('names what is wrong: other model types, a missing model_type, SEA weights without a sea block', async () => {
    const other = join(tmp, 'llama');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'config.json'), JSON.stringify({ model_type: 'llama' }));
    await expect(loadModel(other)).rejects.toThrow(/model_type 'llama' is not supported; sea loads 'opt'/);
    writeFileSync(join(other, 'config.json'), JSON.stringify({ hidden_size: 4 }));
    await expect(loadModel(other)).rejects.toThrow(/has no model_type/);
    await expect(loadModel(join(tmp, 'nowhere'))).rejects.toThrow(/is not a folder/);

    const noBlock = join(tmp, 'no-block');
    mkdirSync(noBlock, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8'));
    delete cfg.sea;
    writeFileSync(join(noBlock, 'config.json'), JSON.stringify(cfg));
    copyFileSync(join(MODEL, 'sea.safetensors'), join(noBlock, 'sea.safetensors'));
    await expect(loadModel(noBlock)).rejects.toThrow(/has SEA weights .* no sea block/);
    writeFileSync(join(noBlock, 'config.json'), JSON.stringify({ ...cfg, sea: { attention: 'sea', k: 0 } }));
    await expect(loadModel(noBlock)).rejects.toThrow(/sea\.k is 0: expected a positive integer/);
  });

  it('dtype: float32 loads; a dtype the backend or the loader does not compute in is refused by name', async () => {
    const m = await loadModel(MODEL, { dtype: 'float32', modelType: 'opt' });
    expect(m.parameters().values().next().value?.dtype).toBe('float32');
    m.dispose();
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const got = await loadModel(MODEL, { dtype, modelType: 'opt' }).then(
        (model) => {
          const d = model.parameters().values().next().value?.dtype;
          model.dispose();
          return d;
        },
        (e: Error) => e.message,
      );
      // Either the model computes in that dtype, or the refusal names the dtype and what lacks it.
      if (got !== dtype)
        expect(got).toMatch(new RegExp(`dtype '${dtype}': the (cpu backend|OPT loader) computes in`));
    }
    await expect(loadModel(MODEL, { dtype: 'int8' as never })).rejects.toThrow(
      /dtype 'int8': expected one of/,
    );
  });
});
