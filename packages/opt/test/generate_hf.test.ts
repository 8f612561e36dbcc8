/**
 * Greedy decoding with dense attention against Hugging Face transformers `generate` (fp32, CPU,
 * eager attention, KV cache) on fixtures made by tooling/reference/make_generate_fixtures.py: two
 * random OPT models (pre-LN; post-LN with project_in/out and an untied head), a short and a
 * 320-token prompt, 48 new tokens each. The tokens must be exactly HF's.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { describe, expect, it } from 'vitest';
import { OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, 'fixtures/generate');
const backend = new CpuBackend();

interface Case {
  prompt: number[];
  generated: number[];
  min_top2_gap: number;
}
const expected = JSON.parse(readFileSync(join(root, 'generate.json'), 'utf8')) as {
  versions: Record<string, string>;
  models: Record<string, Record<'short' | 'long', Case>>;
};

describe.each(Object.keys(expected.models))('greedy decoding of %s equals transformers generate', (name) => {
  for (const which of ['short', 'long'] as const) {
    it(`${which} prompt, 48 new tokens`, async () => {
      const c = expected.models[name][which];
      // a gap this wide is far above float32 rounding of these logits: exact tokens are a fair test
      expect(c.min_top2_gap).toBeGreaterThan(1e-4);
      const model = await OptForCausalLM.load(join(root, name), { backend, attention: 'dense' });
      const r = await model.generate(c.prompt, { maxNewTokens: 48 });
      expect(r.tokens[0]).toEqual(c.generated);
      model.dispose();
    });
  }
});
