/**
 * `sea generate` on the distilled model kept in the repository (models/opt-small-wt2-sea, SEA in
 * every layer from its config and sea.safetensors): the streamed text is the prompt and the decoded
 * tokens that OptForCausalLM.generate gives, `--json` prints those ids, and bad options fail with
 * one line naming the option.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { OptForCausalLM } from '@sea/opt';
import { OptTokenizer } from '@sea/tokenizers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withModelSeaDefaults } from './common.js';
import { type GenerateFlags, generateCommand } from './generate.js';

const MODEL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../models/opt-small-wt2-sea',
);
const PROMPT = 'The history of the city';

const flags = (o: Partial<GenerateFlags> = {}): GenerateFlags =>
  withModelSeaDefaults(
    {
      model: MODEL,
      prompt: PROMPT,
      backend: 'cpu',
      attention: 'dense',
      k: 64,
      predictorLength: 256,
      nbf: 8,
      seaPath: 'sparse',
      seed: 0,
      maxNewTokens: 6,
      sampleSeed: 0,
      eos: true,
      ...o,
    },
    (f) => !(f in o),
  );

function capture(): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  return { out: () => out, err: () => err };
}

afterEach(() => vi.restoreAllMocks());

describe('sea generate', () => {
  it('streams the prompt and the tokens OptForCausalLM.generate gives, then the speeds', async () => {
    const tokenizer = await OptTokenizer.load();
    const model = await OptForCausalLM.load(MODEL, {
      backend: new CpuBackend(),
      attention: 'sea',
      seaConfig: { k: 32, predictorLength: 128, nbFeatureFactor: 8, path: 'sparse' },
      seaWeights: path.join(MODEL, 'sea.safetensors'),
    });
    const want = (await model.generate(tokenizer.encode(PROMPT), { maxNewTokens: 6, eosTokenId: 2 }))
      .tokens[0];
    model.dispose();
    const c = capture();
    await generateCommand(flags());
    const text = c.out();
    vi.restoreAllMocks();
    expect(text).toBe(`${PROMPT}${tokenizer.decode(want, { skipSpecialTokens: true })}\n`);
    expect(c.err()).toMatch(
      /^prefill \d+ tokens in [\d.]+ ms \([\d.]+ tokens\/s\)\ndecode {2}5 tokens in [\d.]+ ms/,
    );
    expect(c.err()).toMatch(/cpu, sea attention, float32, finished: length/);

    const j = capture();
    await generateCommand(flags({ json: true }));
    const res = JSON.parse(j.out());
    vi.restoreAllMocks();
    expect(res.ids).toEqual(want);
    expect(res.promptIds).toEqual(tokenizer.encode(PROMPT));
    expect(res.text).toBe(tokenizer.decode(want, { skipSpecialTokens: true }));
    expect(res.attention).toBe('sea');
    expect(res.timings.decodeSteps).toBe(5);
  });

  it('--dtype bf16: the tokens of the model loaded in bfloat16, prefill and decode in bfloat16', async () => {
    const tokenizer = await OptTokenizer.load();
    const model = await OptForCausalLM.load(MODEL, {
      backend: new CpuBackend(),
      attention: 'sea',
      seaConfig: { k: 32, predictorLength: 128, nbFeatureFactor: 8, path: 'sparse' },
      seaWeights: path.join(MODEL, 'sea.safetensors'),
      dtype: 'bfloat16',
    });
    const r = await model.generate(tokenizer.encode(PROMPT), { maxNewTokens: 6, eosTokenId: 2 });
    const want = r.tokens[0];
    model.dispose();
    const j = capture();
    await generateCommand(flags({ json: true, dtype: 'bf16' }));
    const res = JSON.parse(j.out());
    vi.restoreAllMocks();
    expect(res.dtype).toBe('bfloat16');
    expect(res.ids).toEqual(want);
    expect(res.timings.decodeSteps).toBe(5);
  });

  it('names a bad sampling option and an over-long prompt in one line, before printing anything', async () => {
    const c = capture();
    await expect(generateCommand(flags({ topP: 2 }))).rejects.toThrow(
      /^generate: topP must be in \(0, 1\], got 2$/,
    );
    await expect(generateCommand(flags({ temperature: Number.NaN }))).rejects.toThrow(
      /temperature must be a finite number ≥ 0, got NaN/,
    );
    await expect(generateCommand(flags({ prompt: 'word '.repeat(600) }))).rejects.toThrow(
      /the prompt has \d+ tokens but the model's position table holds 512/,
    );
    expect(c.out()).toBe('');
  });
});
