/**
 * Dense BERT against Hugging Face transformers on the same random weights (fixtures written by
 * tooling/reference/make_model_fixtures.py): classifier logits, pooled output and every hidden
 * state, unpadded and right-padded, within 1e-4 relative (max |ours − HF| / max |HF|).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { type Tensor, useBackend } from '@sea/tensor';
import { openCheckpoint } from '@sea/tensor/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const backend = new CpuBackend();
useBackend(backend);

interface Case {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
}

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

const errors: Record<string, number> = {};

describe.each(['bert-cls', 'bert-gelu-new'])('dense %s vs HF', (name) => {
  const dir = join(here, 'fixtures', name);
  const meta = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as {
    inputs: Record<string, Case>;
    num_hidden_states: number;
  };
  let model: BertForSequenceClassification;
  const expected = new Map<string, Float32Array>();
  beforeAll(async () => {
    model = await BertForSequenceClassification.load(dir, { backend });
    const ref = await openCheckpoint(join(dir, 'expected.safetensors'));
    for (const n of ref.names()) {
      const t = await ref.readTensor(n, { backend });
      expected.set(n, t.dataSync() as Float32Array);
      t.dispose();
    }
    await ref.close();
  });
  afterAll(() => model?.dispose());

  it.each(['unpadded', 'right'])('%s: logits, pooled output and hidden states match', async (c) => {
    const inp = meta.inputs[c];
    const out = await model.forward(inp.input_ids, {
      attentionMask: inp.attention_mask,
      tokenTypeIds: inp.token_type_ids,
      outputHiddenStates: true,
    });
    const hs = out.hiddenStates ?? [];
    expect(hs.length).toBe(meta.num_hidden_states);
    // padded positions too: HF's pad query rows attend the real keys, as ours do
    const tensors: [string, Tensor][] = [
      [`${c}.logits`, out.logits],
      [`${c}.pooled`, out.pooled],
      ...hs.map((h, i): [string, Tensor] => [`${c}.hidden_states.${i}`, h]),
    ];
    for (const [key, t] of tensors) {
      const want = expected.get(key) as Float32Array;
      expect(t.size, key).toBe(want.length);
      const err = relError(t.dataSync(), want);
      errors[`${name} ${key}`] = err;
      expect(err, key).toBeLessThan(1e-4);
      t.dispose();
    }
  });
});

afterAll(() => {
  const worst = Object.entries(errors).sort((x, y) => y[1] - x[1]);
  console.log('BERT parity, max relative error per tensor (worst first):');
  for (const [k, v] of worst.slice(0, 8)) console.log(`  ${k}: ${v.toExponential(2)}`);
});
