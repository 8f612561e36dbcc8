/**
 * What the adapters share in reading a Hugging Face config: the folder's config.json, typed reads of
 * its keys, and the activations.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gelu, geluTanh, mul, relu, sigmoid, type Tensor, tanh } from '@sea/tensor';
import { ModelLoadError } from './errors.js';

/** The `activation_function` / `hidden_act` names of transformers that the adapters run. */
export type HfActivation =
  | 'relu'
  | 'gelu'
  | 'gelu_new'
  | 'gelu_pytorch_tanh'
  | 'gelu_fast'
  | 'silu'
  | 'swish'
  | 'tanh';

export const HF_ACTIVATIONS: readonly HfActivation[] = [
  'relu',
  'gelu',
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_fast',
  'silu',
  'swish',
  'tanh',
];

/**
 * transformers' ACT2FN for these names: 'gelu' is the erf form; 'gelu_new', 'gelu_pytorch_tanh' and
 * 'gelu_fast' the tanh approximation; 'silu' and 'swish' are x·sigmoid(x).
 */
export function applyActivation(name: HfActivation, x: Tensor): Tensor {
  switch (name) {
    case 'relu':
      return relu(x);
    case 'gelu':
      return gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return geluTanh(x);
    case 'tanh':
      return tanh(x);
    case 'silu':
    case 'swish': {
      const s = sigmoid(x);
      const y = mul(x, s);
      s.dispose();
      return y;
    }
    default:
      throw new ModelLoadError(
        `activation '${String(name)}' is not supported (${HF_ACTIVATIONS.join(', ')})`,
      );
  }
}

/** Parsed `<dir>/config.json`; ModelLoadError when dir is not a folder, has none, or it is not JSON. */
export async function readConfigJson(dir: string): Promise<unknown> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory())
    throw new ModelLoadError(`${dir} is not a folder (expected a Hugging Face model folder)`);
  const path = join(dir, 'config.json');
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) {
    throw new ModelLoadError(
      `${dir} has no config.json: expected a Hugging Face model folder (config.json + model.safetensors)`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Typed reads of a config.json's keys; a wrong value is a ModelLoadError naming the key. */
export interface ConfigFields {
  readonly raw: Readonly<Record<string, unknown>>;
  /** A finite number (`dflt` when absent). */
  num(key: string, dflt?: number): number;
  /** A whole number ≥ 1, within what any model (and int32 indexing) needs. */
  posInt(key: string, dflt?: number): number;
  bool(key: string, dflt: boolean): boolean;
  /** One of the activations the adapters run (`HF_ACTIVATIONS`). */
  activation(key: string, dflt: HfActivation): HfActivation;
  /** hidden_size and num_attention_heads, the first a multiple of the second. */
  heads(dflt: { hidden: number; heads: number }): { hiddenSize: number; numAttentionHeads: number };
}

/** The adapter package of each model_type sea loads (for the hint in a wrong-type error). */
const ADAPTERS: Readonly<Record<string, string>> = { opt: '@sea/opt', bert: '@sea/bert' };

/**
 * The keys of a parsed config.json that must be of `modelType` (the error for another type names the
 * package that loads it).
 */
export function configFields(raw: unknown, modelType: string): ConfigFields {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new ModelLoadError('config.json is not a JSON object');
  const r = raw as Record<string, unknown>;
  if (r.model_type !== modelType) {
    const other = typeof r.model_type === 'string' ? ADAPTERS[r.model_type] : undefined;
    throw new ModelLoadError(
      `config.json has model_type ${JSON.stringify(r.model_type)}; ${ADAPTERS[modelType] ?? 'this adapter'} loads only '${modelType}' models${other ? ` (use ${other})` : ''}`,
    );
  }
  const num = (key: string, dflt?: number): number => {
    const v = r[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ModelLoadError(`config.json: '${key}' must be a number, got ${JSON.stringify(r[key])}`);
    }
    return v;
  };
  const posInt = (key: string, dflt?: number): number => {
    const v = num(key, dflt);
    if (!Number.isInteger(v) || v < 1)
      throw new ModelLoadError(`config.json: '${key}' must be a positive integer, got ${v}`);
    // sizes beyond any model (and than int32 indexing) would only make the weight checks slow
    const max = key === 'num_hidden_layers' || key === 'num_attention_heads' ? 4096 : 2 ** 31 - 1;
    if (v > max) throw new ModelLoadError(`config.json: '${key}' is ${v}, above the limit of ${max}`);
    return v;
  };
  return {
    raw: r,
    num,
    posInt,
    bool(key, dflt) {
      const v = r[key] ?? dflt;
      if (typeof v !== 'boolean')
        throw new ModelLoadError(`config.json: '${key}' must be true or false, got ${JSON.stringify(v)}`);
      return v;
    },
    activation(key, dflt) {
      const act = r[key] ?? dflt;
      if (typeof act !== 'string' || !(HF_ACTIVATIONS as readonly string[]).includes(act)) {
        throw new ModelLoadError(
          `config.json: ${key} ${JSON.stringify(act)} is not supported (supported: ${HF_ACTIVATIONS.join(', ')})`,
        );
      }
      return act as HfActivation;
    },
    heads(dflt) {
      const hiddenSize = posInt('hidden_size', dflt.hidden);
      const numAttentionHeads = posInt('num_attention_heads', dflt.heads);
      if (hiddenSize % numAttentionHeads !== 0) {
        throw new ModelLoadError(
          `config.json: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`,
        );
      }
      return { hiddenSize, numAttentionHeads };
    },
  };
}
