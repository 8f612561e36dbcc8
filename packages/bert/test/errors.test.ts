import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { useBackend } from '@sea/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, ModelInputError, ModelLoadError } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/bert-cls');
const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-bert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function variant(name: string, edit: (cfg: Record<string, unknown>) => void, weights = true): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const cfg = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  if (weights) copyFileSync(join(fixture, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

describe('BERT loading errors', () => {
  it('a folder without config.json', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir);
    await expect(BertForSequenceClassification.load(dir)).rejects.toThrow(/has no config\.json/);
  });

  it('an unknown model_type', async () => {
    const dir = variant('roberta', (c) => {
      c.model_type = 'roberta';
    });
    await expect(BertForSequenceClassification.load(dir)).rejects.toThrow(
      /model_type "roberta".*only 'bert'/,
    );
  });

  it('weights that do not match the config name the tensor, expected and got', async () => {
    const dir = variant('labels', (c) => {
      c.id2label = { 0: 'a', 1: 'b', 2: 'c' };
    });
    const err = await BertForSequenceClassification.load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String(err)).toMatch(
      /'classifier\.weight' has shape \[2,64\], expected \[3,64\] from num_labels=3/,
    );
  });

  it('a truncated safetensors file', async () => {
    const dir = variant('trunc', () => {});
    truncateSync(join(dir, 'model.safetensors'), 100_000);
    await expect(BertForSequenceClassification.load(dir)).rejects.toThrow(/model\.safetensors.*past the end/);
  });

  it('a pytorch_model.bin-only folder says how to convert', async () => {
    const dir = variant('bin', () => {}, false);
    writeFileSync(join(dir, 'pytorch_model.bin'), 'x');
    await expect(BertForSequenceClassification.load(dir)).rejects.toThrow(
      /pytorch_model\.bin.*safe_serialization=True/,
    );
  });
});

describe('BERT inputs', () => {
  it('rejects too long inputs, bad ids, bad token types', async () => {
    const model = await BertForSequenceClassification.load(fixture);
    try {
      await expect(model.forward(new Int32Array(65).fill(5))).rejects.toThrow(
        /65 tokens but max_position_embeddings is 64/,
      );
      await expect(model.forward([[101, 9999, 102]])).rejects.toThrow(/input id 9999/);
      await expect(model.forward([[101, 5, 102]], { tokenTypeIds: [[0, 2, 0]] })).rejects.toBeInstanceOf(
        ModelInputError,
      );
    } finally {
      model.dispose();
    }
  });

  it('padding does not change a row, and memory is returned', async () => {
    const model = await BertForSequenceClassification.load(fixture);
    const before = backend.memory().bytes;
    const alone = await model.forward([[101, 200, 300, 102]], { tokenTypeIds: [[0, 0, 1, 1]] });
    const padded = await model.forward(
      [
        [101, 200, 300, 102, 0, 0],
        [101, 210, 310, 320, 330, 102],
      ],
      {
        attentionMask: [
          [1, 1, 1, 1, 0, 0],
          [1, 1, 1, 1, 1, 1],
        ],
        tokenTypeIds: [
          [0, 0, 1, 1, 0, 0],
          [0, 0, 0, 1, 1, 1],
        ],
      },
    );
    expect(padded.logits.shape).toEqual([2, 2]);
    const a = alone.logits.dataSync();
    const p = padded.logits.dataSync();
    expect(Math.abs(a[0] - p[0]) + Math.abs(a[1] - p[1])).toBeLessThan(1e-5);
    for (const o of [alone, padded]) {
      o.logits.dispose();
      o.pooled.dispose();
    }
    expect(backend.memory().bytes).toBe(before);
    model.dispose();
  });
});
