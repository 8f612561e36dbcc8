/** What the adapters share in reading a Hugging Face config: the folder's config.json and the activations. */
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
