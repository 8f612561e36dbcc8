/**
 * OPT in bfloat16 and float16 (`OptForCausalLM.load(dir, { dtype })`) against Hugging Face's float32
 * outputs on the same random weights: every activation is rounded to 16 bits after each op (float32
 * math inside), so the logits may differ by a few units of the dtype's roundoff u per layer; the test
 * allows 4·u·(layers + 1) relative to the largest |logit| and checks the model really ran in 16 bits.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@sea/backend-cpu';
import { unitRoundoff } from '@sea/tensor';
import { openCheckpoint } from '@sea/tensor/node';
import { describe, expect, it } from 'vitest';
import { OptForCausalLM } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, 'fixtures', 'opt-preln');
const backend = new CpuBackend();

describe.each(['bfloat16', 'float16'] as const)('OPT in %s vs HF float32', (dtype) => {
  it('logits within 4·u·(layers + 1) of the float32 reference, weights and outputs in 16 bits', async () => {
    const meta = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const ref = await openCheckpoint(join(dir, 'expected.safetensors'));
    const wantT = await ref.readTensor('unpadded.logits', { backend });
    const want = wantT.dataSync() as Float32Array;
    wantT.dispose();
    await ref.close();
    const model = await OptForCausalLM.load(dir, { backend, dtype });
    const out = await model.forward(meta.inputs.unpadded.input_ids);
    expect(out.logits.dtype).toBe(dtype);
    const got = out.logits.dataSync() as Float32Array;
    let num = 0;
    let den = 0;
    for (let i = 0; i < want.length; i++) {
      num = Math.max(num, Math.abs(got[i] - want[i]));
      den = Math.max(den, Math.abs(want[i]));
    }
    const rel = num / den;
    const bound = 4 * unitRoundoff(dtype) * (config.num_hidden_layers + 1);
    console.log(
      `OPT ${dtype}: max |Δlogit| / max |logit| = ${rel.toExponential(2)} (bound ${bound.toExponential(2)})`,
    );
    expect(rel).toBeLessThan(bound);
    // not float32 in disguise: 16-bit rounding leaves a visible difference
    expect(rel).toBeGreaterThan(unitRoundoff('float32') * 16);
    out.logits.dispose();
    model.dispose();
    expect(backend.memory().buffers).toBe(0);
  });

  it('a 16-bit teacher captures its attention: mask and logits in its dtype, near the float32 ones', async () => {
    const meta = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const ids = meta.inputs.unpadded.input_ids;
    const half = await OptForCausalLM.load(dir, { backend, dtype });
    const full = await OptForCausalLM.load(dir, { backend });
    const h = await half.forward(ids, { captureAttention: true });
    const f = await full.forward(ids, { captureAttention: true });
    expect(h.logitMask?.dtype).toBe(dtype);
    const bound = 4 * unitRoundoff(dtype) * (config.num_hidden_layers + 1);
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const [hl, fl] = [h.layers?.[i].logits, f.layers?.[i].logits];
      expect(hl?.dtype).toBe(dtype);
      const a = hl?.dataSync() as Float32Array;
      const b = fl?.dataSync() as Float32Array;
      let num = 0;
      let den = 0;
      for (let j = 0; j < b.length; j++) {
        if (b[j] < -1e37) {
          expect(a[j]).toBeLessThan(-1e37); // masked in both
          continue;
        }
        num = Math.max(num, Math.abs(a[j] - b[j]));
        den = Math.max(den, Math.abs(b[j]));
      }
      expect(num / den, `layer ${i}`).toBeLessThan(bound);
    }
    for (const o of [h, f]) {
      o.logits.dispose();
      o.logitMask?.dispose();
      for (const l of o.layers ?? []) {
        l.context.dispose();
        l.logits?.dispose();
      }
    }
    half.dispose();
    full.dispose();
    expect(backend.memory().buffers).toBe(0);
  });
});
