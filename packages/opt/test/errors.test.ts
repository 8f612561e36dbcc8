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
import { ModelInputError, ModelLoadError, OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures/opt-preln');
const backend = new CpuBackend();
useBackend(backend);
const tmp = mkdtempSync(join(tmpdir(), 'sea-opt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the opt-preln fixture with config.json edited and/or the weights file changed. */
function variant(name: string, edit: (cfg: Record<string, unknown>) => void, weights = true): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const cfg = JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  if (weights) copyFileSync(join(fixture, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

describe('OPT loading errors', () => {
  it('a folder without config.json', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(dir);
    await expect(OptForCausalLM.load(dir)).rejects.toThrow(/has no config\.json/);
  });

  it('an unknown model_type', async () => {
    const dir = variant('gpt2', (c) => {
      c.model_type = 'gpt2';
    });
    await expect(OptForCausalLM.load(dir)).rejects.toThrow(/model_type "gpt2".*only 'opt'/);
  });

  it('weights whose shapes do not match the config name the tensor, expected and got', async () => {
    const dir = variant('ffn', (c) => {
      c.ffn_dim = 256;
    });
    const err = await OptForCausalLM.load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String(err)).toMatch(
      /'model\.decoder\.layers\.0\.fc1\.weight' has shape \[128,64\], expected \[256,64\]/,
    );
  });

  it('a missing tensor', async () => {
    const dir = variant('layers', (c) => {
      c.num_hidden_layers = 3;
    });
    await expect(OptForCausalLM.load(dir)).rejects.toThrow(
      /missing \d+ tensor\(s\): .*'model\.decoder\.layers\.2\.self_attn\.q_proj\.weight'/,
    );
  });

  it('a truncated safetensors file', async () => {
    const dir = variant('trunc', () => {});
    truncateSync(join(dir, 'model.safetensors'), 200_000);
    const err = await OptForCausalLM.load(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String(err)).toMatch(/model\.safetensors/);
  });

  it('a pytorch_model.bin-only folder says how to convert', async () => {
    const dir = variant('bin', () => {}, false);
    writeFileSync(join(dir, 'pytorch_model.bin'), 'not really a pickle');
    await expect(OptForCausalLM.load(dir)).rejects.toThrow(
      /pytorch_model\.bin.*save_pretrained\(dir, safe_serialization=True\)/,
    );
  });

  it('an unknown attention kind', async () => {
    await expect(OptForCausalLM.load(fixture, { attention: () => 'flash' as 'dense' })).rejects.toThrow(
      /expected one of dense, performer, sea, reformer, cosformer/,
    );
  });
});

describe('OPT inputs', () => {
  it('rejects inputs longer than max_position_embeddings, ids outside the vocabulary, bad masks', async () => {
    const model = await OptForCausalLM.load(fixture);
    try {
      await expect(model.forward(new Int32Array(129).fill(5))).rejects.toThrow(
        /129 tokens but max_position_embeddings is 128/,
      );
      await expect(model.forward([[5, 6, 512]])).rejects.toThrow(
        /input id 512 at \[0,2\] is outside the vocabulary/,
      );
      await expect(model.forward([[5, 6]], { attentionMask: [[1, 1, 1]] })).rejects.toBeInstanceOf(
        ModelInputError,
      );
      await expect(model.forward([[5, 6], [7]])).rejects.toThrow(/different lengths/);
    } finally {
      model.dispose();
    }
  });

  it('accepts flat ids with a shape, a full-length input, and frees everything it allocates', async () => {
    const model = await OptForCausalLM.load(fixture, { attention: (l) => (l >= 0 ? 'dense' : 'sea') });
    const before = backend.memory().bytes;
    const ids = Int32Array.from({ length: 2 * 128 }, (_, i) => 4 + (i % 500));
    const out = await model.forward(ids, { shape: [2, 128], outputHiddenStates: true });
    expect(out.logits.shape).toEqual([2, 128, 512]);
    expect(out.hiddenStates?.length).toBe(3);
    out.logits.dispose();
    for (const h of out.hiddenStates ?? []) h.dispose();
    expect(backend.memory().bytes).toBe(before);
    model.dispose();
  });

  it('a left-padded row gives the same logits as the row alone', async () => {
    const model = await OptForCausalLM.load(join(here, 'fixtures/opt-postln-proj'));
    const alone = await model.forward([[2, 10, 20, 30]]);
    const padded = await model.forward([[1, 1, 2, 10, 20, 30]], { attentionMask: [[0, 0, 1, 1, 1, 1]] });
    const a = alone.logits.dataSync();
    const p = padded.logits.dataSync().subarray(2 * 512);
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - p[i]));
    expect(err).toBeLessThan(1e-4);
    alone.logits.dispose();
    padded.logits.dispose();
    model.dispose();
  });
});
