/**
 * Dense OPT against Hugging Face transformers on the same random weights (fixtures written by
 * tooling/reference/make_model_fixtures.py): logits and every hidden state, unpadded, right- and
 * left-padded, within 1e-4 relative (max |ours − HF| / max |HF|).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { type Tensor, useBackend } from '@sea/tensor';
import { openCheckpoint } from '@sea/tensor/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, 'fixtures');
const backend = new CpuBackend();
useBackend(backend);

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
}

/** max |a−b| over positions where mask is 1 (all when mask is null), divided by max |b| there. */
function relError(
  a: Float32Array,
  b: Float32Array,
  shape: readonly number[],
  mask: number[][] | null,
): number {
  const [B, T] = shape;
  const inner = a.length / (B * T);
  let num = 0;
  let den = 0;
  for (let bt = 0; bt < B * T; bt++) {
    if (mask && !mask[Math.floor(bt / T)][bt % T]) continue;
    for (let i = bt * inner; i < (bt + 1) * inner; i++) {
      num = Math.max(num, Math.abs(a[i] - b[i]));
      den = Math.max(den, Math.abs(b[i]));
    }
  }
  return num / den;
}

const errors: Record<string, number> = {};

describe.each(['opt-preln', 'opt-preln-sharded', 'opt-postln-proj', 'opt-nobias-gelu'])(
  'dense %s vs HF',
  (name) => {
    const dir = join(fixtures, name);
    const refDir = join(fixtures, name.replace('-sharded', ''));
    const meta = JSON.parse(readFileSync(join(refDir, 'inputs.json'), 'utf8')) as {
      inputs: Record<string, Case>;
      num_hidden_states: number;
    };
    let model: OptForCausalLM;
    const expected = new Map<string, Float32Array>();
    beforeAll(async () => {
      model = await OptForCausalLM.load(dir, { backend });
      const ref = await openCheckpoint(join(refDir, 'expected.safetensors'));
      for (const n of ref.names()) {
        const t = await ref.readTensor(n, { backend });
        expected.set(n, t.dataSync() as Float32Array);
        t.dispose();
      }
      await ref.close();
    });
    afterAll(() => model?.dispose());

    it.each(['unpadded', 'right', 'left'])('%s: logits and hidden states match', async (c) => {
      const inp = meta.inputs[c];
      const out = await model.forward(inp.input_ids, {
        attentionMask: inp.attention_mask,
        outputHiddenStates: true,
      });
      // Right padding matches at every position; under left padding HF's fully masked pad rows
      // average all values while ours give zeros, so only real tokens are compared there.
      const mask = c === 'left' ? inp.attention_mask : null;
      const shape = out.logits.shape;
      const tensors: [string, Tensor][] = [[`${c}.logits`, out.logits]];
      const hs = out.hiddenStates ?? [];
      expect(hs.length).toBe(meta.num_hidden_states);
      hs.forEach((h, i) => {
        tensors.push([`${c}.hidden_states.${i}`, h]);
      });
      for (const [key, t] of tensors) {
        const want = expected.get(key) as Float32Array;
        expect(t.size, key).toBe(want.length);
        const err = relError(t.dataSync() as Float32Array, want, shape, mask);
        errors[`${name} ${key}`] = err;
        expect(err, key).toBeLessThan(1e-4);
        t.dispose();
      }
    });
  },
);

afterAll(() => {
  const worst = Object.entries(errors).sort((x, y) => y[1] - x[1]);
  console.log('OPT parity, max relative error per tensor (worst first):');
  for (const [k, v] of worst.slice(0, 8)) console.log(`  ${k}: ${v.toExponential(2)}`);
});
