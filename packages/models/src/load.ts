/**
 * One loader for model folders: config.json's `model_type` picks OPT or BERT, the weights are read
 * (one file or shards), and the folder's `sea` block (written by `sea distill`) with its
 * `sea.safetensors` decides the attention unless the caller overrides it.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BertForSequenceClassification, type BertLoadOptions } from '@sea/bert';
import { type AttentionChoice, ModelLoadError, readConfigJson } from '@sea/model-common';
import { OptForCausalLM, type OptLoadOptions } from '@sea/opt';
import { type Backend, currentBackend, SeaError, setBackend } from '@sea/tensor';

/** The compute dtypes a model may be loaded in (float32 everywhere; half precision where a backend has it). */
export type ModelDtype = 'float32' | 'float16' | 'bfloat16';
export const MODEL_DTYPES: readonly ModelDtype[] = ['float32', 'float16', 'bfloat16'];

/** The architectures loadModel reads, by config.json `model_type`. */
export type ModelType = 'opt' | 'bert';
export const MODEL_TYPES: readonly ModelType[] = ['opt', 'bert'];

/** A loaded model: OPT causal LM or BERT sequence classifier. */
export type SeaModel = OptForCausalLM | BertForSequenceClassification;
type ModelOf<T extends ModelType> = T extends 'opt' ? OptForCausalLM : BertForSequenceClassification;

export interface LoadModelOptions {
  /**
   * Backend to hold the weights and run (default: the current backend; when none is set, the best
   * registered one, which becomes the current backend).
   */
  backend?: Backend;
  /**
   * Compute dtype (default 'float32'). Another dtype is refused, naming what is missing, unless
   * both the backend (`backend.dtypes`) and the model loader compute in it.
   */
  dtype?: ModelDtype;
  /**
   * Attention per layer ('dense', 'performer', 'sea', or a function of the layer index). Default:
   * the folder's `sea.attention` (with its SEA weights), else 'dense'.
   */
  attention?: AttentionChoice;
  /** SEA: keys per query per head (default: the folder's `sea.k`, else the architecture's default). */
  k?: number;
  /** SEA: compressed width K (default: the folder's `sea.predictor_length`, else the architecture's). */
  predictorLength?: number;
  /** SEA/Performer feature factor (default: the folder's `sea.nbf`, else the architecture's). */
  nbFeatureFactor?: number;
  /** SEA: 'sparse' (FlatCSR, linear memory; default) or 'dense' (the T×T reference). */
  seaPath?: 'sparse' | 'dense';
  /** Further SeaAttentionConfig settings (topkMode, …); the named options above win. */
  seaConfig?: Readonly<Record<string, unknown>>;
  /**
   * SEA/Performer weights: a safetensors file or folder, or 'fresh' for new weights from `seed`.
   * Default: the folder's `sea.safetensors` when the attention is not dense.
   */
  seaWeights?: string;
  /** Seed of fresh SEA/Performer weights (layer i uses seed + i; default 0). */
  seed?: number;
  /** The architecture the caller expects: a folder of another `model_type` is an error. */
  modelType?: ModelType;
  /**
   * Called with a sentence when the load departs from what the folder was made for (e.g. dense
   * attention asked for on a folder with SEA weights). Default: `console.warn`.
   */
  onWarning?: (message: string) => void;
}

/** What a folder says about its SEA attention: config.json's `sea` block and `sea.safetensors`. */
export interface FolderSea {
  /** The attention the folder was distilled for, when its `sea` block names one. */
  attention?: 'sea' | 'performer';
  k?: number;
  predictorLength?: number;
  nbFeatureFactor?: number;
  /** Path of `sea.safetensors`, when the folder has one. */
  weights?: string;
}

/** The settings a load resolves to (what {@link loadModel} passes to the architecture's loader). */
export interface ModelSettings {
  dir: string;
  modelType: ModelType;
  dtype: ModelDtype;
  attention: AttentionChoice;
  /** True when `attention` came from the folder's `sea` block rather than the caller. */
  attentionFromFolder: boolean;
  /** SeaAttentionConfig overrides (k, predictorLength, nbFeatureFactor, path, …) for SEA/Performer layers. */
  seaConfig: Record<string, unknown>;
  /** SEA weights file or folder, or undefined for fresh weights from `seed`. */
  seaWeights?: string;
  seed: number;
  folder: FolderSea;
  /** Departures from the folder's own settings (also passed to `onWarning` by loadModel). */
  warnings: string[];
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isFile() ?? false;
}

/** Reads a folder's `sea` block and SEA weights file (see {@link FolderSea}). */
export async function readFolderSea(dir: string, config?: unknown): Promise<FolderSea> {
  const raw = (config ?? (await readConfigJson(dir))) as { sea?: unknown };
  const out: FolderSea = {};
  const seaFile = join(dir, 'sea.safetensors');
  if (await isFile(seaFile)) out.weights = seaFile;
  const block = raw.sea;
  if (block === undefined || block === null) return out;
  if (typeof block !== 'object' || Array.isArray(block))
    throw new ModelLoadError(`${join(dir, 'config.json')}: 'sea' is not an object`);
  const b = block as Record<string, unknown>;
  const where = `${join(dir, 'config.json')} sea`;
  if (b.attention !== undefined) {
    if (b.attention !== 'sea' && b.attention !== 'performer' && b.attention !== 'dense')
      throw new ModelLoadError(
        `${where}.attention is '${String(b.attention)}': expected 'sea' or 'performer'`,
      );
    if (b.attention !== 'dense') out.attention = b.attention;
  }
  for (const [key, name] of [
    ['k', 'k'],
    ['predictor_length', 'predictorLength'],
  ] as const) {
    if (b[key] === undefined) continue;
    if (!isPosInt(b[key]))
      throw new ModelLoadError(`${where}.${key} is ${JSON.stringify(b[key])}: expected a positive integer`);
    out[name] = b[key];
  }
  if (b.nbf !== undefined) {
    if (!(typeof b.nbf === 'number' && b.nbf > 0))
      throw new ModelLoadError(`${where}.nbf is ${JSON.stringify(b.nbf)}: expected a positive number`);
    out.nbFeatureFactor = b.nbf;
  }
  return out;
}

function modelTypeOf(dir: string, config: unknown): ModelType {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new ModelLoadError(
      `${join(dir, 'config.json')} holds ${config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config}: expected a JSON object`,
    );
  const t = (config as { model_type?: unknown }).model_type;
  if (t === 'opt' || t === 'bert') return t;
  throw new ModelLoadError(
    t === undefined
      ? `${join(dir, 'config.json')} has no model_type: sea loads 'opt' (OPTForCausalLM) and 'bert' (BertForSequenceClassification) folders`
      : `${join(dir, 'config.json')}: model_type '${String(t)}' is not supported; sea loads 'opt' (OPTForCausalLM) and 'bert' (BertForSequenceClassification)`,
  );
}

function usesSeaModules(attention: AttentionChoice, layers: number): boolean {
  if (typeof attention !== 'function') return attention !== 'dense';
  for (let i = 0; i < layers; i++) if (attention(i) !== 'dense') return true;
  return false;
}

/**
 * Resolves what {@link loadModel} will load, without reading any weights: the architecture, the
 * attention and its settings (caller's options over the folder's `sea` block), the SEA weights.
 */
export async function modelSettings(dir: string, opts: LoadModelOptions = {}): Promise<ModelSettings> {
  const config = await readConfigJson(dir);
  const modelType = modelTypeOf(dir, config);
  if (opts.modelType && opts.modelType !== modelType) {
    throw new ModelLoadError(
      `${dir} holds a '${modelType}' model (config.json model_type) but a '${opts.modelType}' model was asked for`,
    );
  }
  const dtype = opts.dtype ?? 'float32';
  if (!MODEL_DTYPES.includes(dtype))
    throw new ModelLoadError(`dtype '${String(dtype)}': expected one of ${MODEL_DTYPES.join(', ')}`);
  const folder = await readFolderSea(dir, config);
  const warnings: string[] = [];
  const folderHasSea = folder.attention !== undefined || folder.weights !== undefined;
  if (folder.weights && !folder.attention && opts.attention === undefined) {
    throw new ModelLoadError(
      `${dir} has SEA weights (sea.safetensors) but config.json has no sea block naming their attention, k and K; ` +
        "pass attention ('sea' or 'performer') with k and predictorLength, or attention: 'dense' to ignore them",
    );
  }
  const attentionFromFolder = opts.attention === undefined && folder.attention !== undefined;
  const attention: AttentionChoice = opts.attention ?? folder.attention ?? 'dense';
  const layers = Number((config as { num_hidden_layers?: unknown }).num_hidden_layers) || 0;
  const seaModules = usesSeaModules(attention, layers);

  if (folderHasSea && !seaModules) {
    warnings.push(
      `${dir} was made for ${folder.attention ?? 'SEA'} attention` +
        `${folder.weights ? ' and has SEA weights' : ''}; running dense attention as asked, its SEA settings unused`,
    );
  } else if (
    seaModules &&
    folder.attention &&
    typeof attention === 'string' &&
    attention !== folder.attention
  ) {
    warnings.push(`${dir} was distilled for ${folder.attention} attention; running ${attention} as asked`);
  }

  const seaConfig: Record<string, unknown> = { ...(opts.seaConfig ?? {}) };
  const pick = (name: 'k' | 'predictorLength' | 'nbFeatureFactor', given: number | undefined) => {
    const v = given ?? folder[name];
    if (v !== undefined) seaConfig[name] = v;
  };
  for (const [name, v] of [
    ['k', opts.k],
    ['predictorLength', opts.predictorLength],
  ] as const) {
    if (v !== undefined && !isPosInt(v))
      throw new ModelLoadError(`${name} must be a positive integer, got ${v}`);
  }
  if (opts.nbFeatureFactor !== undefined && !(opts.nbFeatureFactor > 0))
    throw new ModelLoadError(`nbFeatureFactor must be positive, got ${opts.nbFeatureFactor}`);
  if (opts.seaPath !== undefined && opts.seaPath !== 'sparse' && opts.seaPath !== 'dense')
    throw new ModelLoadError(`seaPath must be 'sparse' or 'dense', got '${String(opts.seaPath)}'`);
  pick('k', opts.k);
  pick('predictorLength', opts.predictorLength);
  pick('nbFeatureFactor', opts.nbFeatureFactor);
  if (opts.seaPath) seaConfig.path = opts.seaPath;

  let seaWeights: string | undefined;
  if (opts.seaWeights === 'fresh') seaWeights = undefined;
  else if (opts.seaWeights !== undefined) seaWeights = opts.seaWeights;
  else if (seaModules) seaWeights = folder.weights;
  if (seaWeights && seaWeights === folder.weights) {
    for (const [name, key] of [
      ['predictorLength', 'predictor_length'],
      ['nbFeatureFactor', 'nbf'],
    ] as const) {
      const given = name === 'predictorLength' ? opts.predictorLength : opts.nbFeatureFactor;
      if (given !== undefined && folder[name] !== undefined && given !== folder[name]) {
        throw new ModelLoadError(
          `${name} ${given} differs from the ${key} ${folder[name]} that ${folder.weights} was trained with; ` +
            "leave it out, or pass seaWeights: 'fresh' for new SEA weights",
        );
      }
    }
  }
  return {
    dir,
    modelType,
    dtype,
    attention,
    attentionFromFolder,
    seaConfig,
    seaWeights,
    seed: opts.seed ?? 0,
    folder,
    warnings,
  };
}

/** The backend set with setBackend, else the best one registered (which becomes the current one). */
async function selectedOrBest(): Promise<Backend> {
  try {
    return currentBackend();
  } catch (e) {
    if (e instanceof SeaError && e.code === 'E_NO_BACKEND') return setBackend();
    throw e;
  }
}

/** Refuses a dtype the backend does not compute in. */
function checkBackendDtype(backend: Backend, dtype: ModelDtype): void {
  if (dtype === 'float32') return;
  if (!(backend.dtypes as readonly string[]).includes(dtype)) {
    const floats = backend.dtypes.filter((d) => d.startsWith('float') || d.startsWith('bfloat'));
    throw new ModelLoadError(
      `dtype '${dtype}': the ${backend.name} backend computes in ${floats.join(', ')} only; load with dtype 'float32'`,
    );
  }
}

/**
 * Loads a Hugging Face model folder: config.json (`model_type` 'opt' → {@link OptForCausalLM},
 * 'bert' → {@link BertForSequenceClassification}), its weights (model.safetensors or shards with
 * model.safetensors.index.json) and, unless the options say otherwise, the attention of its `sea`
 * block with `sea.safetensors`. A folder with SEA weights runs dense attention only when
 * `attention: 'dense'` is passed, and then `onWarning` says so.
 */
export async function loadModel<T extends ModelType>(
  dir: string,
  opts: LoadModelOptions & { modelType: T },
): Promise<ModelOf<T>>;
export async function loadModel(dir: string, opts?: LoadModelOptions): Promise<SeaModel>;
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<SeaModel> {
  const s = await modelSettings(dir, opts);
  const backend = opts.backend ?? (await selectedOrBest());
  checkBackendDtype(backend, s.dtype);
  const warn = opts.onWarning ?? ((m: string) => console.warn(`sea: ${m}`));
  for (const w of s.warnings) warn(w);
  const common = {
    backend,
    attention: s.attention,
    seaConfig: s.seaConfig,
    seaWeights: s.seaWeights,
    seed: s.seed,
    ...(s.dtype === 'float32' ? {} : { dtype: s.dtype }),
  };
  const model: SeaModel =
    s.modelType === 'opt'
      ? await OptForCausalLM.load(dir, common as OptLoadOptions)
      : await BertForSequenceClassification.load(dir, common as BertLoadOptions);
  if (s.dtype !== 'float32') {
    const first = model.parameters().values().next().value;
    if (first && (first.dtype as string) !== s.dtype) {
      model.dispose();
      throw new ModelLoadError(
        `dtype '${s.dtype}': the ${s.modelType.toUpperCase()} loader computes in ${first.dtype} only; load with dtype 'float32'`,
      );
    }
  }
  return model;
}
