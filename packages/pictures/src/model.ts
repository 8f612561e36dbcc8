/**
 * The model as the explorer sees it: an OPT config and a source of host weights, from a
 * safetensors buffer (a picked model folder, or a file read in Node) or built in memory (the
 * bundled model: random weights). Nothing here touches the file system, so it runs in browsers.
 */
import { PROJECTION_WEIGHT } from '@sea/linear-attention';
import { checkWeights, ModelLoadError, type TensorListing } from '@sea/model-common';
import {
  type OptConfig,
  OptForCausalLM,
  optWeightSpecs,
  parseOptConfig,
  randomOptConfigJson,
  randomWeights,
} from '@sea/opt';
import { type Backend, type Tensor, tensor } from '@sea/tensor';
import {
  parseSafetensors,
  type SafetensorsBuffer,
  SafetensorsError,
  serializeSafetensors,
  toSeaArray,
} from '@sea/tensor/safetensors';

/** Host weights by name (float32 values and shape). */
export interface WeightSource {
  has(name: string): boolean;
  names(): string[];
  shape(name: string): readonly number[];
  /** float32 values (F16/BF16/F64 converted); throws for an unknown name. */
  values(name: string): Float32Array;
}

export interface ExplorerModel {
  /** What the page shows as the model's name (the folder, or the bundled model's label). */
  label: string;
  /** True for weights that carry no language knowledge (the bundled model). */
  randomWeights: boolean;
  config: OptConfig;
  weights: WeightSource;
  /** 'model.' (OPTForCausalLM) or '' (OPTModel). */
  prefix: string;
}

/** Weights of a safetensors file held in memory (`parseSafetensors`). */
export function weightsFromSafetensors(buf: SafetensorsBuffer): WeightSource {
  const cache = new Map<string, Float32Array>();
  return {
    has: (n) => buf.has(n),
    names: () => buf.names(),
    shape: (n) => buf.info(n).shape,
    values(n) {
      let v = cache.get(n);
      if (!v) {
        const raw = buf.readRawSync(n);
        if (!raw.array)
          throw new SafetensorsError(`tensor '${n}' has dtype ${raw.dtype}, which sea cannot read`);
        v = toSeaArray(raw.dtype, raw.array, 'float32', { file: buf.file, tensor: n }) as Float32Array;
        cache.set(n, v);
      }
      return v;
    },
  };
}

/** Several sources as one (a model file and a separate SEA weights file); the first holding a name wins. */
export function mergeWeights(...sources: WeightSource[]): WeightSource {
  const find = (n: string) => {
    const s = sources.find((x) => x.has(n));
    if (!s) throw new SafetensorsError(`no tensor named '${n}' in the model files`);
    return s;
  };
  return {
    has: (n) => sources.some((s) => s.has(n)),
    names: () => [...new Set(sources.flatMap((s) => s.names()))].sort(),
    shape: (n) => find(n).shape(n),
    values: (n) => find(n).values(n),
  };
}

/** An ExplorerModel from the text of config.json and the bytes of model.safetensors (and optional extra files). */
export function modelFromFiles(
  label: string,
  configJson: string,
  safetensors: Uint8Array[],
  opts: { randomWeights?: boolean } = {},
): ExplorerModel {
  let raw: unknown;
  try {
    raw = JSON.parse(configJson);
  } catch (e) {
    throw new ModelLoadError(`${label}: config.json is not valid JSON: ${(e as Error).message}`);
  }
  const config = parseOptConfig(raw);
  const parsed = safetensors.map((b, i) => parseSafetensors(b, { name: `file ${i + 1}` }));
  const weights = mergeWeights(...parsed.map(weightsFromSafetensors));
  const prefix = ['model.', ''].find((p) => weights.has(`${p}decoder.embed_tokens.weight`));
  if (prefix === undefined) {
    throw new ModelLoadError(
      `the safetensors file has no 'model.decoder.embed_tokens.weight': not an OPT checkpoint (first tensors: ${weights.names().slice(0, 3).join(', ')})`,
    );
  }
  // the config's layer count, shapes and dtypes against the weights, as the model loaders check them
  const listing: TensorListing = {
    names: () => weights.names(),
    has: (n) => weights.has(n),
    info: (n) => (parsed.find((p) => p.has(n)) as SafetensorsBuffer).info(n),
  };
  checkWeights(listing, optWeightSpecs(config, prefix), `${label}/model.safetensors`);
  const note = (raw as { sea_note?: unknown }).sea_note;
  const random = opts.randomWeights ?? (typeof note === 'string' && /random/i.test(note));
  return { label, randomWeights: random, config, weights, prefix };
}

export interface RandomOptSpec {
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  seed: number;
  vocab: number;
}

/** The bundled model: OPT's vocabulary (so the real tokenizer applies) and small random layers. */
export const BUNDLED_MODEL: RandomOptSpec = {
  hidden: 128,
  layers: 2,
  heads: 4,
  maxPositions: 512,
  seed: 0,
  vocab: 50272,
};

/**
 * config.json and model.safetensors bytes of a random-weight OPT-format model, initialised as
 * Hugging Face does (normal(0, 0.02) matrices, zero biases, unit LayerNorms). Deterministic in the
 * seed, so the page and Node build the same model.
 */
export async function randomOptFiles(
  spec: RandomOptSpec = BUNDLED_MODEL,
): Promise<{ configJson: string; safetensors: Uint8Array }> {
  const config = randomOptConfigJson({
    hidden: spec.hidden,
    layers: spec.layers,
    heads: spec.heads,
    maxPositions: spec.maxPositions,
    vocab: spec.vocab,
    name: 'sea-explorer-random-opt',
    note: 'RANDOM WEIGHTS: the attention patterns show the mechanics of SEA, not what a trained model attends to',
  });
  const tensors = randomWeights(optWeightSpecs(parseOptConfig(config)), spec.seed);
  return {
    configJson: JSON.stringify(config, null, 2),
    safetensors: await serializeSafetensors(tensors, { format: 'pt', sea_note: String(config.sea_note) }),
  };
}

/** The bundled model, built in memory. */
export async function bundledModel(spec: RandomOptSpec = BUNDLED_MODEL): Promise<ExplorerModel> {
  const f = await randomOptFiles(spec);
  return modelFromFiles(
    `bundled random OPT (hidden ${spec.hidden}, ${spec.layers} layers, ${spec.heads} heads, seed ${spec.seed})`,
    f.configJson,
    [f.safetensors],
    { randomWeights: true },
  );
}

/**
 * K and nbf of a layer's stored SEA weights, from their shapes (`shapeOf` takes the names under the
 * layer's `sea.` prefix): K is the CNN's output LayerNorm size, nbf the one that gives the
 * projection's m = ⌊D·ln D / nbf⌋ rows. Absent weights leave the field out.
 */
export function storedSeaShape(
  shapeOf: (name: string) => readonly number[] | undefined,
  headDim: number,
): { predictorLength?: number; nbFeatureFactor?: number } {
  const out: { predictorLength?: number; nbFeatureFactor?: number } = {};
  const norm = shapeOf('cnn.norm_out.weight');
  if (norm) out.predictorLength = norm[0];
  const proj = shapeOf(PROJECTION_WEIGHT);
  if (proj) out.nbFeatureFactor = (headDim * Math.log(headDim)) / (proj[0] + 0.5);
  return out;
}

export interface OptModelOptions {
  /** 'dense' (default: the model weights only) or 'sea' in every layer. */
  attention?: 'dense' | 'sea';
  /** SEA settings for layers without stored SEA weights; stored ones decide K and m. */
  seaConfig?: Record<string, unknown>;
  /** Seed of fresh SEA layers (layer i: seed + i). */
  seed?: number;
}

/** The explorer model as an OptForCausalLM on `backend`, from its host weights. */
export function optModelOf(
  model: ExplorerModel,
  backend: Backend,
  opts: OptModelOptions = {},
): Promise<OptForCausalLM> {
  const { config, weights: ws, prefix } = model;
  const attention = opts.attention ?? 'dense';
  const names =
    attention === 'dense'
      ? optWeightSpecs(config, prefix)
          .map((s) => s.name)
          .filter((n) => ws.has(n))
      : ws.names();
  const weights = new Map<string, Tensor>();
  for (const n of names)
    weights.set(n, tensor(ws.values(n), ws.shape(n), { backend, dtype: 'float32' }).keep());
  const seaConfig = { ...opts.seaConfig };
  if (attention === 'sea') {
    // every layer has the same shapes: layer 0's stored SEA weights decide K and m
    const sea = `${prefix}decoder.layers.0.self_attn.sea.`;
    const D = config.hiddenSize / config.numAttentionHeads;
    Object.assign(
      seaConfig,
      storedSeaShape((n) => (ws.has(sea + n) ? ws.shape(sea + n) : undefined), D),
    );
  }
  return OptForCausalLM.fromWeights(config, weights, { backend, attention, seaConfig, seed: opts.seed });
}
