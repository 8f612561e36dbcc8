/**
 * `sea eval` on the distilled model kept in the repository (models/opt-small-wt2-sea): its config's
 * `sea` block and sea.safetensors are picked up, the trained SEA modules beat the same modules with
 * fresh weights on WikiText-2 test windows, and the numbers agree with the H100 run of the same
 * model (the first windows of packages/train/experiments/2026-11-24-h100, all 561 there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stdoutOf } from '../../test/stdout.js';
import { withModelSeaDefaults } from './common.js';
import { type EvalFlags, evalCommand, runEval } from './eval.js';

const MODEL = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../models/opt-small-wt2-sea',
);

const flags = (o: Partial<EvalFlags> = {}): EvalFlags => ({
  model: MODEL,
  backend: 'cpu',
  attention: 'dense',
  k: 64,
  predictorLength: 256,
  nbf: 8,
  seaPath: 'sparse',
  seed: 0,
  maxWindows: 2,
  protocol: 'sea',
  ...o,
});

describe('sea eval on the distilled model', () => {
  it("takes attention, k, K and the SEA weights from the folder's config unless given", () => {
    const o = withModelSeaDefaults(flags(), () => true);
    expect(o).toMatchObject({ attention: 'sea', k: 32, predictorLength: 128, nbf: 8 });
    expect(o.seaWeights).toBe(path.join(MODEL, 'sea.safetensors'));
    const given = withModelSeaDefaults(flags({ k: 16 }), (f) => f !== 'k' && f !== 'attention');
    expect(given).toMatchObject({ attention: 'dense', k: 16, predictorLength: 128 });
    expect(given.seaWeights).toBeUndefined();
  });

  it('distilled SEA weights beat fresh ones on WikiText-2 test windows', async () => {
    expect(fs.existsSync(path.join(MODEL, 'model.safetensors'))).toBe(true);
    const sea = withModelSeaDefaults(flags(), () => true);
    const trained = (await runEval(sea)).result;
    const fresh = (await runEval({ ...sea, seaWeights: 'fresh' })).result;
    console.log(
      `ppl over ${trained.windows} windows: distilled SEA ${trained.perplexity.toFixed(2)}, fresh SEA ${fresh.perplexity.toFixed(2)}`,
    );
    expect(trained.windows).toBe(2);
    expect(trained.sea).toMatchObject({ k: 32, predictorLength: 128, weights: sea.seaWeights });
    expect(fresh.sea).toMatchObject({ weights: 'fresh' });
    expect(Number.isFinite(trained.perplexity)).toBe(true);
    expect(trained.perplexity).toBeLessThan(0.95 * fresh.perplexity);
    // A trained 7.3M model: far below the vocabulary size a random model sits at (≈ 50k).
    expect(trained.perplexity).toBeLessThan(3000);
  }, 120_000);

  it('dynamic k: --k 16,32 evaluates the same distilled weights at each k, matching single-k runs', async () => {
    const sea = withModelSeaDefaults(flags({ maxWindows: 1 }), () => true);
    const out = await stdoutOf(() => evalCommand({ ...sea, k: [16, 32] as unknown as number, json: true }));
    const rows = (JSON.parse(out) as { dynamicK: { k: number; perplexity: number }[] }).dynamicK;
    expect(rows.map((r) => r.k)).toEqual([16, 32]);
    const at16 = (await runEval({ ...sea, k: 16 })).result.perplexity;
    expect(rows[0].perplexity).toBe(at16);
    // fewer keys per query: a different (here: no better) perplexity
    expect(rows[0].perplexity).not.toBe(rows[1].perplexity);
  }, 120_000);

  it('--dtype bf16 runs the model in bfloat16 and lands within 2% of the float32 perplexity', async () => {
    const f32 = (await runEval(flags({ maxWindows: 1 }))).result;
    const bf16 = (await runEval(flags({ maxWindows: 1, dtype: 'bf16' }))).result;
    console.log(
      `ppl of one window: float32 ${f32.perplexity.toFixed(3)}, bfloat16 ${bf16.perplexity.toFixed(3)}`,
    );
    expect(bf16.dtype).toBe('bfloat16');
    expect(f32.dtype).toBe('float32');
    expect(Math.abs(bf16.perplexity / f32.perplexity - 1)).toBeLessThan(0.02);
    expect(bf16.perplexity).not.toBe(f32.perplexity);
  }, 180_000);
});
