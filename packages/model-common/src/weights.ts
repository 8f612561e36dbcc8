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
  /** What the stored dtype may be: 'float' (default: F64, F32, F16 or BF16) or 'int' (integer dtypes). */
  dtype?: 'float' | 'int';
  /** How `randomWeights` fills it: normal(0, 0.02) (default), zeros (biases) or ones (LayerNorm weights). */
  init?: 'normal' | 'zeros' | 'ones';
}

/** Storage dtypes a float weight may have. */
export const FLOAT_WEIGHT_DTYPES: readonly string[] = ['F64', 'F32', 'F16', 'BF16'];
const INT_WEIGHT_DTYPES: readonly string[] = ['I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8'];

/** The tensors of a checkpoint as checkWeights sees them (a Checkpoint, a parsed file, several merged). */
export interface TensorListing {
  names(): readonly string[];
  has(name: string): boolean;
  info(name: string): { readonly shape: readonly number[]; readonly dtype: string };
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

/** A name with its layer indices replaced by `*` (`decoder.layers.*.fc1.weight`). */
const family = (name: string) => name.replace(/(^|\.)\d+(?=\.|$)/g, '$1*');

/**
 * Everything wrong between a checkpoint and the tensors the config implies: missing tensors,
 * unexpected ones of the model's own structure (a layer the config does not have: a name that,
 * layer indices aside, is a spec's name), wrong shapes and non-float dtypes. Tensors of no
 * spec's family (SEA weights, training heads a classifier does not use) are left alone, as
 * Hugging Face does.
 */
export function weightProblems(ckpt: TensorListing, specs: readonly WeightSpec[]): string[] {
  const missing: string[] = [];
  const problems: string[] = [];
  const known = new Set(specs.map((s) => s.name));
  const families = new Set(specs.map((s) => family(s.name)));
  for (const s of specs) {
    if (!ckpt.has(s.name)) {
      if (!s.optional) missing.push(`'${s.name}' ${fmt(s.shape)} (${s.why})`);
      continue;
    }
    const info = ckpt.info(s.name);
    const got = info.shape;
    if (got.length !== s.shape.length || got.some((d, i) => d !== s.shape[i])) {
      problems.push(`tensor '${s.name}' has shape ${fmt(got)}, expected ${fmt(s.shape)} from ${s.why}`);
    }
    const allowed = s.dtype === 'int' ? INT_WEIGHT_DTYPES : FLOAT_WEIGHT_DTYPES;
    if (!allowed.includes(info.dtype)) {
      problems.push(
        `tensor '${s.name}' is stored as ${info.dtype}, expected a ${s.dtype ?? 'float'} dtype (${allowed.join(', ')})`,
      );
    }
  }
  const unexpected = ckpt.names().filter((n) => !known.has(n) && families.has(family(n)));
  const out: string[] = [];
  if (missing.length) out.push(`missing ${missing.length} tensor(s): ${list(missing)}`);
  if (unexpected.length)
    out.push(
      `${unexpected.length} unexpected tensor(s) not in the config's layout: ${list(unexpected.map((n) => `'${n}'`))}`,
    );
  return [...out, ...problems];
}

const list = (xs: readonly string[]) =>
  xs.length > 8 ? `${xs.slice(0, 8).join(', ')} (and ${xs.length - 8} more)` : xs.join(', ');

/** Throws ModelLoadError listing every {@link weightProblems} of `ckpt` against `specs`. */
export function checkWeights(ckpt: TensorListing, specs: readonly WeightSpec[], file: string): void {
  const problems = weightProblems(ckpt, specs);
  if (problems.length) {
    const more = problems.length > 6 ? ` (and ${problems.length - 6} more)` : '';
    throw new ModelLoadError(
      `checkpoint ${file} does not match config.json: ${problems.slice(0, 6).join('; ')}${more}`,
    );
  }
}

/**
 * Checks the checkpoint against the specs first ({@link checkWeights}: names, layer count, shapes,
 * dtypes; nothing is read if one is wrong), then reads them as float32.
 */
export async function readWeights(
  ckpt: Checkpoint,
  specs: readonly WeightSpec[],
  backend: Backend,
  dtype: DType = 'float32',
): Promise<Map<string, Tensor>> {
  checkWeights(ckpt, specs, ckpt.file);
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
    if (!name.startsWith(prefix)) continue;
    const stored = file.info(name).dtype;
    if (!FLOAT_WEIGHT_DTYPES.includes(stored)) {
      for (const t of Object.values(out)) t.dispose();
      throw new ModelLoadError(
        `SEA weights ${file.file}: tensor '${name}' is stored as ${stored}, expected a float dtype (${FLOAT_WEIGHT_DTYPES.join(', ')})`,
      );
    }
    out[name.slice(prefix.length)] = await file.readTensor(name, { backend, dtype });
  }
  return out;
}
