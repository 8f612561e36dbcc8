/**
 * `sea attention-map`: the explorer page's pictures for one layer and head as PNG files — exact
 * attention, the SEA estimate Â (T×K and stretched to T×T), the selected cells, the sparse mask,
 * the sparse attention and the per-head share of each row's keys — each with a title, a colour
 * bar and its scale, plus summary.json (shapes, mask size, step times and memory). The matrices
 * come from @sea/pictures, the same code the explorer page runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  AttentionExplorer,
  type AttentionMaps,
  figureImage,
  modelFromFiles,
  picturesOf,
} from '@sea/pictures';
import { SeaError } from '@sea/tensor';
import { OptTokenizer } from '@sea/tokenizers';
import { PNG } from 'pngjs';
import { chooseBackend } from '../backends.js';
import { emit, mib } from './common.js';

export interface AttentionMapFlags {
  model: string;
  text: string;
  layer: number;
  head: number;
  k: number;
  predictorLength: number;
  nbf: number;
  seed: number;
  seaWeights?: string;
  backend: string;
  out: string;
  json?: boolean;
}

function intArg(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new SeaError('E_ARGS', `${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** PNG bytes of an RGBA raster. */
export function encodePng(img: { width: number; height: number; data: Uint8ClampedArray }): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png);
}

/** The line under each figure's title. */
export function pictureSubtitle(random: boolean, layer: number, head: number, maps: AttentionMaps): string {
  return `${random ? 'RANDOM WEIGHTS · ' : ''}layer ${layer} · head ${head} · T = ${maps.T} · K = ${maps.K} · k = ${maps.k} · ${maps.backend}`;
}

/** Reads the model folder (config.json, model.safetensors, optional vocab.json + merges.txt). */
async function loadModel(dir: string, seaWeights: string | undefined) {
  const configPath = path.join(dir, 'config.json');
  const weightsPath = path.join(dir, 'model.safetensors');
  for (const f of [configPath, weightsPath]) {
    if (!fs.existsSync(f))
      throw new SeaError(
        'E_ARGS',
        `${f} not found: --model takes an OPT folder with config.json and model.safetensors`,
      );
  }
  const files = [new Uint8Array(fs.readFileSync(weightsPath))];
  if (seaWeights) files.push(new Uint8Array(fs.readFileSync(seaWeights)));
  const model = modelFromFiles(path.resolve(dir), fs.readFileSync(configPath, 'utf8'), files);
  const vocab = path.join(dir, 'vocab.json');
  const merges = path.join(dir, 'merges.txt');
  const tokenizer =
    fs.existsSync(vocab) && fs.existsSync(merges)
      ? await OptTokenizer.load({ vocab, merges })
      : await OptTokenizer.load();
  return { model, tokenizer };
}

export async function runAttentionMap(
  o: AttentionMapFlags,
): Promise<{ result: Record<string, unknown>; files: string[]; text: string }> {
  intArg('--k', o.k, 1);
  intArg('--predictor-length', o.predictorLength, 4);
  intArg('--layer', o.layer, 0);
  intArg('--head', o.head, 0);
  if (!o.text) throw new SeaError('E_ARGS', '--text is empty');
  const backend = await chooseBackend(o.backend);
  const { model, tokenizer } = await loadModel(o.model, o.seaWeights);
  const c = model.config;
  if (o.layer >= c.numHiddenLayers)
    throw new SeaError(
      'E_ARGS',
      `--layer ${o.layer}: the model has ${c.numHiddenLayers} layers (0…${c.numHiddenLayers - 1})`,
    );
  if (o.head >= c.numAttentionHeads)
    throw new SeaError(
      'E_ARGS',
      `--head ${o.head}: the model has ${c.numAttentionHeads} heads (0…${c.numAttentionHeads - 1})`,
    );
  const ids = tokenizer.encode(o.text);
  const explorer = new AttentionExplorer(model, backend);
  let maps: AttentionMaps;
  try {
    maps = await explorer.run({
      ids,
      layer: o.layer,
      k: o.k,
      sea: { predictorLength: o.predictorLength, nbFeatureFactor: o.nbf, seed: o.seed },
    });
  } finally {
    explorer.dispose();
  }
  fs.mkdirSync(o.out, { recursive: true });
  const stem = `layer${o.layer}-head${o.head}`;
  const subtitle = pictureSubtitle(model.randomWeights, o.layer, o.head, maps);
  const files: string[] = [];
  for (const p of picturesOf(maps, o.head)) {
    const file = path.join(o.out, `${stem}-${p.id}.png`);
    fs.writeFileSync(file, encodePng(figureImage(p, { subtitle }).image));
    files.push(file);
  }
  const result = {
    model: model.label,
    randomWeights: model.randomWeights,
    seaWeights: maps.seaWeights,
    backend: maps.backend,
    layer: o.layer,
    head: o.head,
    tokens: Array.from(maps.ids, (id) => tokenizer.decode([id])),
    T: maps.T,
    H: maps.H,
    K: maps.K,
    k: maps.k,
    nnz: maps.nnz,
    denseEntries: (maps.H * maps.T * (maps.T + 1)) / 2,
    steps: maps.steps.map((s) => ({
      step: s.step,
      ms: s.ms,
      liveBytes: s.liveBytes,
      peakExtraBytes: s.peakExtraBytes,
    })),
    files,
  };
  const summary = path.join(o.out, `${stem}-summary.json`);
  fs.writeFileSync(summary, `${JSON.stringify(result, null, 2)}\n`);
  files.push(summary);
  const lines = [
    `${model.label}${model.randomWeights ? ' (RANDOM WEIGHTS)' : ''}`,
    `SEA weights: ${maps.seaWeights}`,
    `layer ${o.layer}, head ${o.head}: T = ${maps.T} tokens, K = ${maps.K}, k = ${maps.k}, mask ${maps.nnz} keys (exact: ${result.denseEntries}) on ${maps.backend}`,
    ...maps.steps.map(
      (s) => `  ${s.step.padEnd(52)} ${s.ms.toFixed(1).padStart(9)} ms  ${mib(s.liveBytes)} live`,
    ),
    ...files.map((f) => `wrote ${f}`),
  ];
  return { result, files, text: `${lines.join('\n')}\n` };
}

export async function attentionMapCommand(o: AttentionMapFlags): Promise<void> {
  const { result, text } = await runAttentionMap(o);
  emit(!!o.json, result, text);
}
