/**
 * `sea attention-map` on a small random model from `sea make-model`: one PNG per picture, decoded
 * again with pngjs, whose matrix pixels are the colours of the values the explorer pipeline
 * computes for the same input; bad arguments fail with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CpuBackend } from '@sea/backend-cpu';
import { AttentionExplorer, cellRgb, figureImage, modelFromFiles, picturesOf } from '@sea/pictures';
import { OptTokenizer } from '@sea/tokenizers';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeRandomOpt } from '../make_model.js';
import { type AttentionMapFlags, pictureSubtitle, runAttentionMap } from './attention_map.js';

const TEXT = 'The estimate picks the cells; exact attention runs only there.';

describe('sea attention-map', () => {
  let dir: string;
  let out: string;
  const flags = (o: Partial<AttentionMapFlags> = {}): AttentionMapFlags => ({
    model: dir,
    text: TEXT,
    layer: 1,
    head: 2,
    k: 3,
    predictorLength: 32,
    nbf: 8,
    seed: 0,
    backend: 'cpu',
    out,
    ...o,
  });

  beforeAll(async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-attention-map-'));
    dir = path.join(tmp, 'model');
    out = path.join(tmp, 'out');
    await writeRandomOpt(dir, { hidden: 64, layers: 2, heads: 4, maxPositions: 128, seed: 1 });
  });

  it('writes one PNG per picture whose matrix pixels are the colours of the computed values', async () => {
    const { files, result } = await runAttentionMap(flags());
    const pngs = files.filter((f) => f.endsWith('.png'));
    expect(pngs.map((f) => path.basename(f))).toEqual(
      ['exact', 'estimate', 'cells', 'estimate-stretched', 'mask', 'sparse', 'budget'].map(
        (id) => `layer1-head2-${id}.png`,
      ),
    );
    expect(result.randomWeights).toBe(true);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'layer1-head2-summary.json'), 'utf8'));
    expect(summary.steps.length).toBeGreaterThanOrEqual(6);
    expect(summary.nnz).toBeLessThan(summary.denseEntries);

    const model = modelFromFiles(dir, fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), [
      new Uint8Array(fs.readFileSync(path.join(dir, 'model.safetensors'))),
    ]);
    const explorer = new AttentionExplorer(model, new CpuBackend());
    const ids = (await OptTokenizer.load()).encode(TEXT);
    const maps = await explorer.run({ ids, layer: 1, k: 3, sea: { predictorLength: 32 } });
    explorer.dispose();
    for (const [i, p] of picturesOf(maps, 2).entries()) {
      const png = PNG.sync.read(fs.readFileSync(pngs[i]));
      const fig = figureImage(p, { subtitle: pictureSubtitle(true, 1, 2, maps) });
      expect([png.width, png.height]).toEqual([fig.image.width, fig.image.height]);
      for (let r = 0; r < p.rows; r++) {
        for (let c = 0; c < p.cols; c++) {
          const x = fig.x + c * fig.cell + Math.floor(fig.cell / 2);
          const y = fig.y + r * fig.cell + Math.floor(fig.cell / 2);
          const o = (y * png.width + x) * 4;
          expect([png.data[o], png.data[o + 1], png.data[o + 2]], `${p.id} (${r}, ${c})`).toEqual([
            ...cellRgb(p, r, c),
          ]);
        }
      }
    }
  });

  it('says what is wrong with the arguments', async () => {
    await expect(runAttentionMap(flags({ layer: 2 }))).rejects.toThrow(/--layer 2: the model has 2 layers/);
    await expect(runAttentionMap(flags({ head: 4 }))).rejects.toThrow(/--head 4: the model has 4 heads/);
    await expect(runAttentionMap(flags({ k: 0 }))).rejects.toThrow(/--k must be an integer ≥ 1/);
    await expect(runAttentionMap(flags({ model: out }))).rejects.toThrow(/config.json not found/);
  });
});
