/**
 * The explorer pipeline on the CPU backend against references it does not share code with:
 * @sea/opt's hidden states (parity-tested against Hugging Face) for the layer input, float64
 * layer norm / linear / softmax loops written here for q, k, v, the exact attention and the sparse
 * attention on the mask, and @sea/sparse-attention's SeaAttention (same seed) for the estimate,
 * the mask and the layer output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@sea/backend-cpu';
import { csrToDense } from '@sea/mask';
import { OptForCausalLM } from '@sea/opt';
import { SeaAttention } from '@sea/sparse-attention';
import { type CsrMatrix, Rng, tensor, useBackend } from '@sea/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HIDDEN_RGB, invertViridis, toUnit, VIRIDIS } from './colormap.js';
import { modelFromFiles, randomOptFiles } from './model.js';
import { cellRgb, figureImage, picturesOf } from './pictures.js';
import { AttentionExplorer, type AttentionMaps } from './pipeline.js';

const SPEC = { hidden: 64, layers: 3, heads: 4, maxPositions: 128, seed: 7, vocab: 300 };
const H = SPEC.heads;
const D = SPEC.hidden / H;
const T = 40;
const LAYER = 2;
const K = 32;
const SEED = 5;

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m / (scale || 1);
}

/** float64 y = LN(x)·W^T + b for [T,C] rows. */
function lnLinear(
  x: Float32Array,
  C: number,
  w: Float32Array,
  b: Float32Array,
  out: number,
  scale = 1,
): Float64Array {
  const rows = x.length / C;
  const y = new Float64Array(rows * out);
  const n = new Float64Array(C);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[t * C + c] / C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[t * C + c] - mean) ** 2 / C;
    for (let c = 0; c < C; c++) n[c] = (x[t * C + c] - mean) / Math.sqrt(v + 1e-5); // unit γ, zero β
    for (let o = 0; o < out; o++) {
      let s = b[o];
      for (let c = 0; c < C; c++) s += n[c] * w[o * C + c];
      y[t * out + o] = s * scale;
    }
  }
  return y;
}

/** [T, H·D] → [H, T, D] */
function toHeads(y: Float64Array): Float64Array {
  const out = new Float64Array(y.length);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let d = 0; d < D; d++) out[(h * T + t) * D + d] = y[t * H * D + h * D + d];
  return out;
}

describe('AttentionExplorer (CPU) against independent references', () => {
  const backend = new CpuBackend();
  let explorer: AttentionExplorer;
  let files: { configJson: string; safetensors: Uint8Array };
  let maps: AttentionMaps;
  let ids: number[];

  beforeAll(async () => {
    useBackend(backend);
    files = await randomOptFiles(SPEC);
    const model = modelFromFiles('test', files.configJson, [files.safetensors]);
    explorer = new AttentionExplorer(model, backend);
    const rng = new Rng(3);
    ids = Array.from({ length: T }, () => 4 + Math.floor(rng.uniform() * (SPEC.vocab - 4)));
    maps = await explorer.run({
      ids,
      layer: LAYER,
      k: 3,
      sea: { predictorLength: K, seed: SEED },
      returnQkv: true,
    });
  });

  afterAll(() => explorer.dispose());

  it('labels the in-memory model as random weights and reads it back from safetensors', () => {
    const model = modelFromFiles('x', files.configJson, [files.safetensors]);
    expect(model.randomWeights).toBe(true);
    expect(model.prefix).toBe('model.');
    expect(model.config.numHiddenLayers).toBe(3);
    expect(maps.seaWeights).toMatch(/^RANDOM/);
  });

  it("q, k, v of the layer match float64 projections of @sea/opt's hidden state", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sea-explorer-'));
    writeFileSync(join(dir, 'config.json'), files.configJson);
    writeFileSync(join(dir, 'model.safetensors'), files.safetensors);
    const opt = await OptForCausalLM.load(dir, { backend });
    const out = await opt.forward(ids, { outputHiddenStates: true });
    const hidden = (await out.hiddenStates?.[LAYER].data()) as Float32Array;
    out.logits.dispose();
    for (const t of out.hiddenStates ?? []) t.dispose();
    opt.dispose();
    const model = modelFromFiles('x', files.configJson, [files.safetensors]);
    const w = (n: string) => model.weights.values(`model.decoder.layers.${LAYER}.self_attn.${n}`);
    const C = SPEC.hidden;
    const q = toHeads(lnLinear(hidden, C, w('q_proj.weight'), w('q_proj.bias'), C, D ** -0.5));
    const k = toHeads(lnLinear(hidden, C, w('k_proj.weight'), w('k_proj.bias'), C));
    const v = toHeads(lnLinear(hidden, C, w('v_proj.weight'), w('v_proj.bias'), C));
    expect(maxRel(maps.qkv?.q ?? [], q)).toBeLessThan(1e-5);
    expect(maxRel(maps.qkv?.k ?? [], k)).toBeLessThan(1e-5);
    expect(maxRel(maps.qkv?.v ?? [], v)).toBeLessThan(1e-5);
  });

  it('exact and sparse attention match float64 softmax loops', () => {
    const { q, k } = maps.qkv as { q: Float32Array; k: Float32Array };
    const exact = new Float64Array(H * T * T);
    const sparse = new Float64Array(H * T * T);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const s = new Float64Array(t + 1);
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(h * T + t) * D + d] * k[(h * T + j) * D + d];
          s[j] = dot;
        }
        const o = (h * T + t) * T;
        const mx = Math.max(...s);
        const all = s.reduce((a, x) => a + Math.exp(x - mx), 0);
        let inMask = 0;
        for (let j = 0; j <= t; j++) if (maps.mask[o + j]) inMask += Math.exp(s[j] - mx);
        for (let j = 0; j <= t; j++) {
          exact[o + j] = Math.exp(s[j] - mx) / all;
          if (maps.mask[o + j]) sparse[o + j] = (maps.sProb[h * T + t] * Math.exp(s[j] - mx)) / inMask;
        }
        for (let j = t + 1; j < T; j++) expect(maps.mask[o + j]).toBe(0);
      }
    }
    expect(maxRel(maps.exact, exact)).toBeLessThan(1e-5);
    expect(maxRel(maps.sparse, sparse)).toBeLessThan(1e-5);
  });

  it("estimate, mask and layer output equal SeaAttention's with the same seed", async () => {
    const { q, k, v } = maps.qkv as { q: Float32Array; k: Float32Array; v: Float32Array };
    const sea = SeaAttention.create(
      {
        causal: true,
        heads: H,
        headDim: D,
        predictorLength: K,
        k: 3,
        nbFeatureFactor: 8,
        maxPositions: SPEC.maxPositions,
      },
      { seed: SEED + LAYER, backend },
    );
    const qt = tensor(q, [1, H, T, D], { backend });
    const kt = tensor(k, [1, H, T, D], { backend });
    const vt = tensor(v, [1, H, T, D], { backend });
    const out = await sea.forward(qt, kt, vt, { returnEstimate: true, returnMask: true, path: 'sparse' });
    const dense = await csrToDense(out.mask as CsrMatrix);
    expect(Array.from(maps.mask)).toEqual(Array.from((await dense.data()) as Uint8Array));
    expect(maxRel(maps.estimate, (await out.estimate?.data()) as Float32Array)).toBeLessThan(1e-6);
    expect(maxRel(maps.context, (await out.context.data()) as Float32Array)).toBeLessThan(1e-5);
    for (const t of [qt, kt, vt, out.context, out.estimate, dense]) t?.dispose();
    (out.mask as CsrMatrix).dispose();
    sea.dispose();
  });

  it('budget shares, key counts and the stretched estimate are consistent with the mask and Â', () => {
    for (let t = 0; t < T; t++) {
      let keys = 0;
      let share = 0;
      for (let h = 0; h < H; h++) {
        let n = 0;
        for (let j = 0; j < T; j++) n += maps.mask[(h * T + t) * T + j];
        keys += n;
        share += maps.budgetShare[t * H + h];
        if (t + 1 <= maps.k) expect(n, `row ${t} is dense while t+1 ≤ k`).toBe(t + 1);
      }
      expect(maps.rowKeys[t]).toBe(keys);
      expect(share).toBeCloseTo(1, 5);
    }
    // row t's K cells tile [0, t]: the stretched value of key j is the value of its cell
    const t = T - 1;
    for (let j = 0; j <= t; j++) {
      const m = Math.floor(((j + 0.5) * K) / (t + 1) - 1e-4);
      expect(maps.estimateStretched[t * T + j]).toBeCloseTo(maps.estimate[t * K + m], 6);
    }
  });

  it('changing k re-runs only the selection; changing K re-runs the estimate', async () => {
    const again = await explorer.run({ ids, layer: LAYER, k: 5, sea: { predictorLength: K, seed: SEED } });
    const ran = again.steps.filter((s) => !s.cached).map((s) => s.step);
    expect(ran).toEqual([
      'grouped top-k̂ + stretch to FlatCSR (k = 5)',
      'sparse attention: SDDMM, softmax × s_prob, SpMM',
    ]);
    expect(again.estimate).toBe(maps.estimate);
    const wider = await explorer.run({
      ids,
      layer: LAYER,
      k: 5,
      sea: { predictorLength: 2 * K, seed: SEED },
    });
    expect(wider.K).toBe(2 * K);
    expect(wider.steps.filter((s) => !s.cached).map((s) => s.step)[0]).toMatch(/^SEA estimate/);
    expect(wider.steps.find((s) => s.step.startsWith('q, k, v'))?.cached).toBe(true);
    for (const s of wider.steps) expect(s.liveBytes).toBeGreaterThan(0);
  });

  it('pictures colour each cell by its value; the figure holds the same pixels', () => {
    const pics = picturesOf(maps, 1);
    expect(pics.map((p) => p.id)).toEqual([
      'exact',
      'estimate',
      'cells',
      'estimate-stretched',
      'mask',
      'sparse',
      'budget',
    ]);
    const exact = pics[0];
    expect(cellRgb(exact, 0, 1)).toEqual(HIDDEN_RGB);
    const fig = figureImage(exact);
    for (const [r, c] of [
      [0, 0],
      [T - 1, 3],
      [20, 20],
    ]) {
      const x = fig.x + c * fig.cell + 1;
      const y = fig.y + r * fig.cell + 1;
      const o = (y * fig.image.width + x) * 4;
      const u = invertViridis(fig.image.data.slice(o, o + 3)).u;
      expect(Math.abs(u - toUnit(exact.values[r * T + c], exact.max, 'sqrt'))).toBeLessThanOrEqual(0.5 / 255);
    }
    // matplotlib's viridis at 0, 0.5 and 1, within the polynomial fit's few /255
    for (const [i, ref] of [
      [0, [68, 1, 84]],
      [128, [33, 145, 140]],
      [255, [253, 231, 37]],
    ] as const) {
      for (let ch = 0; ch < 3; ch++)
        expect(Math.abs(VIRIDIS[i][ch] - ref[ch]), `viridis[${i}]`).toBeLessThanOrEqual(4);
    }
  });
});
