/**
 * Planning and encoding of safetensors files: validation of every entry before anything is written,
 * the header (names sorted, `__metadata__` first, padded with spaces so the buffer starts 8-byte
 * aligned), and the buffer laid out by element size (largest first, then name) so every tensor is
 * aligned to its element size, as Hugging Face's writer does.
 */
import type { DType, TypedArray } from '../dtype.js';
import { Tensor } from '../engine.js';
import { sizeOf } from '../shape.js';
import { encodeStorage, isStorageArrayOf, type StorageArray } from './convert.js';
import {
  isConvertible,
  isFloatStorage,
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BITS,
  type SafetensorsDType,
} from './dtypes.js';
import { SafetensorsError } from './errors.js';

/** Plain data to write: a sea dtype with its typed array, or a storage dtype with its storage array. */
export interface TensorData {
  /**
   * sea dtype (float32 → Float32Array, float64 → Float64Array, int32 → Int32Array, bool → Uint8Array)
   * or a storage dtype (F16/BF16 → Uint16Array of bit patterns, I64 → BigInt64Array, U64 →
   * BigUint64Array, I16 → Int16Array, I8 → Int8Array, U32 → Uint32Array, U16 → Uint16Array,
   * U8/BOOL/F8_* → Uint8Array, F64/F32/I32 as their sea counterparts).
   */
  dtype: DType | SafetensorsDType;
  shape: readonly number[];
  data: TypedArray | StorageArray;
  /** Storage dtype to write (default: the data's own). */
  storage?: SafetensorsDType;
}

export type WritableTensor = TensorData | Tensor | { tensor: Tensor; storage?: SafetensorsDType };

export interface WriteOptions {
  /** Storage dtype per tensor name, or a function choosing it (undefined keeps the data's own). */
  storage?:
    | Readonly<Record<string, SafetensorsDType>>
    | ((name: string, dtype: SafetensorsDType) => SafetensorsDType | undefined);
}

const SEA_TO_STORAGE: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int32: 'I32',
  bool: 'BOOL',
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface PlannedTensor {
  readonly name: string;
  /** Storage dtype of the source values. */
  readonly from: SafetensorsDType;
  /** Storage dtype written. */
  readonly to: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  readonly begin: number;
  /** The source values (downloads Tensors). */
  readonly values: () => Promise<StorageArray>;
}

export interface WritePlan {
  /** The 8-byte length plus the padded JSON header. */
  readonly head: Uint8Array;
  /** Tensors in buffer order. */
  readonly tensors: readonly PlannedTensor[];
  readonly totalBytes: number;
  readonly file: string;
}

/** Validates every entry and lays out the file; throws SafetensorsError before anything is written. */
export function planSafetensors(
  tensors: Readonly<Record<string, WritableTensor>>,
  metadata: Readonly<Record<string, string>> | undefined,
  opts: WriteOptions,
  file: string,
): WritePlan {
  if (tensors === null || typeof tensors !== 'object') {
    throw new SafetensorsError('tensors must be an object of name → tensor', { file });
  }
  const meta: [string, string][] = [];
  if (metadata !== undefined && metadata !== null) {
    if (typeof metadata !== 'object')
      throw new SafetensorsError('metadata must be an object of strings', { file });
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new SafetensorsError(
          `metadata value of ${JSON.stringify(k)} is not a string (got ${typeof v})`,
          { file },
        );
      }
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw new SafetensorsError(`metadata entry ${JSON.stringify(k)} is not valid Unicode`, { file });
      }
      meta.push([k, v]);
    }
  }

  const planned: Omit<PlannedTensor, 'begin'>[] = [];
  for (const [name, entry] of Object.entries(tensors)) {
    const ctx = { file, tensor: name };
    if (name === '__metadata__')
      throw new SafetensorsError("'__metadata__' is reserved and cannot name a tensor", ctx);
    if (LONE_SURROGATE.test(name)) throw new SafetensorsError('tensor name is not valid Unicode', ctx);
    let from: SafetensorsDType;
    let shape: readonly number[];
    let values: () => Promise<StorageArray>;
    let storage: SafetensorsDType | undefined;
    if (
      entry instanceof Tensor ||
      (entry && typeof entry === 'object' && 'tensor' in entry && entry.tensor instanceof Tensor)
    ) {
      const t = entry instanceof Tensor ? entry : entry.tensor;
      storage = entry instanceof Tensor ? undefined : entry.storage;
      if (t.isDisposed) throw new SafetensorsError(`${t} was disposed`, ctx);
      from = SEA_TO_STORAGE[t.dtype];
      shape = t.shape;
      values = async () => {
        const d = (await t.bits()) as StorageArray;
        if (d.length !== t.size)
          throw new SafetensorsError(`backend returned ${d.length} values for ${t}`, ctx);
        return d;
      };
    } else if (entry && typeof entry === 'object' && 'data' in entry) {
      const d = entry as TensorData;
      if (typeof d.dtype === 'string' && Object.hasOwn(SEA_TO_STORAGE, d.dtype))
        from = SEA_TO_STORAGE[d.dtype as DType];
      else if (isSafetensorsDType(d.dtype)) from = d.dtype;
      else throw new SafetensorsError(`unknown dtype ${JSON.stringify(d.dtype)}`, ctx);
      if (SAFETENSORS_DTYPE_BITS[from] % 8 !== 0)
        throw new SafetensorsError(`writing ${from} is not supported`, ctx);
      if (!Array.isArray(d.shape) || !d.shape.every((x) => Number.isSafeInteger(x) && x >= 0)) {
        throw new SafetensorsError(
          `shape ${JSON.stringify(d.shape)} must be an array of non-negative integers`,
          ctx,
        );
      }
      const expectArray = isConvertible(from) ? from : 'U8';
      if (!isStorageArrayOf(expectArray, d.data)) {
        const raw = d.data as unknown;
        const got = raw && typeof raw === 'object' ? raw.constructor.name : typeof raw;
        throw new SafetensorsError(`data for dtype ${d.dtype} has the wrong array type (${got})`, ctx);
      }
      const size = sizeOf(d.shape);
      const elements = isConvertible(from)
        ? d.data.length
        : d.data.length / (SAFETENSORS_DTYPE_BITS[from] / 8);
      if (elements !== size) {
        throw new SafetensorsError(
          `${elements} values do not fill shape [${d.shape.join(',')}] (${size} elements)`,
          ctx,
        );
      }
      shape = d.shape;
      storage = d.storage;
      const data = d.data as StorageArray;
      values = async () => data;
    } else {
      throw new SafetensorsError('entry is neither a Tensor nor {dtype, shape, data}', ctx);
    }
    if (storage === undefined && opts.storage) {
      storage = typeof opts.storage === 'function' ? opts.storage(name, from) : opts.storage[name];
    }
    const to = storage ?? from;
    if (!isSafetensorsDType(to))
      throw new SafetensorsError(`unknown storage dtype ${JSON.stringify(to)}`, ctx);
    if (to !== from) {
      if (!isConvertible(from) || !isConvertible(to))
        throw new SafetensorsError(`cannot convert ${from} data to ${to}`, ctx);
      if (isFloatStorage(from) && !isFloatStorage(to)) {
        throw new SafetensorsError(
          `cannot store ${from} values as ${to} (floats are not converted to integers; cast first)`,
          ctx,
        );
      }
    }
    const byteLength = (sizeOf(shape) * SAFETENSORS_DTYPE_BITS[to]) / 8;
    planned.push({ name, from, to, shape: [...shape], byteLength, values });
  }

  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  const order = [...planned].sort(
    (a, b) => SAFETENSORS_DTYPE_BITS[b.to] - SAFETENSORS_DTYPE_BITS[a.to] || byName(a, b),
  );
  let offset = 0;
  const laidOut: PlannedTensor[] = order.map((t) => {
    const p = { ...t, begin: offset };
    offset += t.byteLength;
    return p;
  });

  const parts: string[] = [];
  if (meta.length) {
    meta.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    parts.push(
      `"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
    );
  }
  for (const t of [...laidOut].sort(byName)) {
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${t.to}","shape":[${t.shape.join(',')}],"data_offsets":[${t.begin},${t.begin + t.byteLength}]}`,
    );
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const head = new Uint8Array(8 + n).fill(0x20, 8);
  new DataView(head.buffer).setBigUint64(0, BigInt(n), true);
  head.set(json, 8);
  return { head, tensors: laidOut, totalBytes: 8 + n + offset, file };
}

/** Encodes one planned tensor's bytes (range checks happen here). */
export async function encodePlanned(t: PlannedTensor, file: string): Promise<Uint8Array> {
  const bytes = encodeStorage(t.from, await t.values(), t.to, { file, tensor: t.name });
  if (bytes.length !== t.byteLength) {
    throw new SafetensorsError(`encoded ${bytes.length} bytes, expected ${t.byteLength}`, {
      file,
      tensor: t.name,
    });
  }
  return bytes;
}

/** A whole safetensors file in memory (browsers, uploads). */
export async function serializeSafetensors(
  tensors: Readonly<Record<string, WritableTensor>>,
  metadata?: Readonly<Record<string, string>>,
  opts: WriteOptions = {},
): Promise<Uint8Array> {
  const plan = planSafetensors(tensors, metadata, opts, '<memory>');
  const out = new Uint8Array(plan.totalBytes);
  out.set(plan.head, 0);
  for (const t of plan.tensors) out.set(await encodePlanned(t, plan.file), plan.head.length + t.begin);
  return out;
}
