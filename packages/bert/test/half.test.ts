/**
 * BERT in bfloat16 and float16 (`BertForSequenceClassification.load(dir, { dtype })`) against Hugging
 * Face's float32 outputs on the same random weights (right-padded batch): the last hidden state may
 * differ by a few units of the dtype's roundoff u per layer; the test allows 4·u·(layers + 1) relative
 * to its largest magnitude and checks the model really ran in 16 bits.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { unitRoundoff } from '@sea/tensor';
import { openCheckpoint } from '@sea/tensor/node';
import { describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'fixtures', 'bert-cls');
const backend = new CpuBackend();

describe.each(['bfloat16', 'float16'] as const)('BERT in %s vs HF float32', (dtype) => {
  it('last hidden state within 4·u·(layers + 1), computed in 16 bits', async () => {
    const meta = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const c = meta.inputs.right;
    const model = await BertForSequenceClassification.load(dir, { backend, dtype });
    const out = await model.forward(c.input_ids, {
      attentionMask: c.attention_mask,
      tokenTypeIds: c.token_type_ids,
      outputHiddenStates: true,
    });
    const hs = out.hiddenStates ?? [];
    const last = hs[hs.length - 1];
    expect(last.dtype).toBe(dtype);
    const ref = await openCheckpoint(join(dir, 'expected.safetensors'));
    const wantT = await ref.readTensor(`right.hidden_states.${hs.length - 1}`, { backend });
    const want = wantT.dataSync() as Float32Array;
    wantT.dispose();
    await ref.close();
    const got = last.dataSync() as Float32Array;
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num = Math.max(num, Math.abs(got[i] - want[i]));
      den = Math.max(den, Math.abs(want[i]));
    }
    const rel = num / den;
    const bound = 4 * unitRoundoff(dtype) * (config.num_hidden_layers + 1);
    console.log(
      `BERT ${dtype}: max |Δh| / max |h| = ${rel.toExponential(2)} (bound ${bound.toExponential(2)})`,
    );
    expect(rel).toBeLessThan(bound);
    expect(rel).toBeGreaterThan(unitRoundoff('float32') * 16);
    out.logits.dispose();
    out.pooled.dispose();
    for (const h of hs) h.dispose();
    model.dispose();
    expect(backend.memory().buffers).toBe(0);
  });
});
