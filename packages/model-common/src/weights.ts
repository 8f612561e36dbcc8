/** Reads a checkpoint's tensors after checking every expected name and shape against the config. */
import type { Backend, DType, Tensor } from '@sea/tensor';
import { type Checkpoint, openCheckpoint } from '@sea/tensor/node';
import { SafetensorsError } from '@sea/tensor/safetensors';
import { ModelLoadError } from './errors.js';

export interface WeightSpec {
  name: string;
  shape: readonly number[];
  /** Why this shape: the config keys it comes from, for error messages. */
  why: string;
  optional?: boolean;
}

/** Opens `<dir>` as a safetensors checkpoint, with errors that say how to convert other formats. */
export async function openModelCheckpoint(dir: string): Promise<Checkpoint> {
  try {
    return await openCheckpoint(dir);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new ModelLoadError(
        `cannot load weights from ${dir}: ${e.message} (re-save or re-download a damaged file)`,
      );
    }
    throw e;
  }
}

const fmt = (s: readonly number[]) => `[${s.join(',')}]`;

/** Checks names and shapes of every spec first (nothing is read if one is wrong), then reads them. */
export async function readWeights(
  ckpt: Checkpoint,
  specs: readonly WeightSpec[],
  backend: Backend,
  dtype: DType = 'float32',
): Promise<Map<string, Tensor>> {
  const problems: string[] = [];
  for (const s of specs) {
    if (!ckpt.has(s.name)) {
      if (!s.optional)
        problems.push(`missing tensor '${s.name}' (expected shape ${fmt(s.shape)} from ${s.why})`);
      continue;
    }
    const got = ckpt.info(s.name).shape;
    if (got.length !== s.shape.length || got.some((d, i) => d !== s.shape[i])) {
      problems.push(`tensor '${s.name}' has shape ${fmt(got)}, expected ${fmt(s.shape)} from ${s.why}`);
    }
  }
  if (problems.length) {
    const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
    throw new ModelLoadError(
      `checkpoint ${ckpt.file} does not match config.json: ${problems.slice(0, 5).join('; ')}${more}`,
    );
  }
  const out = new Map<string, Tensor>();
  try {
    for (const s of specs) {
      if (!ckpt.has(s.name)) continue;
      out.set(s.name, await ckpt.readTensor(s.name, { backend, dtype }));
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    if (e instanceof SafetensorsError)
      throw new ModelLoadError(`cannot read weights from ${ckpt.file}: ${e.message}`);
    throw e;
  }
  return out;
}

/** The tensors of one layer's SEA module (names after `prefix`), when a SEA weights file was given. */
export async function readSeaWeights(
  file: Checkpoint | null,
  prefix: string,
  backend: Backend,
  dtype: DType = 'float32',
): Promise<Record<string, Tensor>> {
  const out: Record<string, Tensor> = {};
  if (!file) return out;
  for (const name of file.names()) {
    if (name.startsWith(prefix))
      out[name.slice(prefix.length)] = await file.readTensor(name, { backend, dtype });
  }
  return out;
}
