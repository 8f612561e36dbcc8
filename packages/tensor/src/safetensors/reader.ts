/**
 * The reading interface shared by single files, in-memory buffers and sharded checkpoints, and the
 * in-memory reader (`parseSafetensors`), which works in browsers.
 */
import type { Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../engine.js';
import { tensor } from '../ops.js';
import { defaultSeaDType, type StorageArray, storageArray, toSeaArray } from './convert.js';
import { isConvertible, type SafetensorsDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import {
  MAX_HEADER_BYTES,
  parseHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './header.js';

export interface RawTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** The stored little-endian bytes. */
  readonly bytes: Uint8Array;
  /**
   * The values as the storage dtype's typed array (F16/BF16: Uint16Array of bit patterns, I64:
   * BigInt64Array, U64: BigUint64Array, BOOL/U8: Uint8Array); undefined for F8_*, F6_*, F4 and C64.
   */
  readonly array: StorageArray | undefined;
}

export interface ReadTensorOptions {
  /** Backend to upload to; defaults to the current backend. */
  backend?: Backend;
  /**
   * sea dtype to load as. Defaults: F64/F32/F16/BF16 → float32, integers → int32 (every value must
   * fit), BOOL → bool. Floats may also load as float64; integers and BOOL as float32/float64.
   */
  dtype?: DType;
}

export interface SafetensorsReader {
  /** Where the tensors come from (a path, or `<memory>`). */
  readonly file: string;
  /** The `__metadata__` strings (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names, sorted. */
  names(): string[];
  has(name: string): boolean;
  /** dtype, shape, offsets; throws SafetensorsError for an unknown name. */
  info(name: string): SafetensorsTensorInfo;
  readRaw(name: string): Promise<RawTensor>;
  readTensor(name: string, opts?: ReadTensorOptions): Promise<Tensor>;
  close(): Promise<void>;
}

export function makeRaw(info: SafetensorsTensorInfo, bytes: Uint8Array, file: string): RawTensor {
  return {
    name: info.name,
    dtype: info.dtype,
    shape: info.shape,
    bytes,
    array: isConvertible(info.dtype)
      ? storageArray(info.dtype, bytes, { file, tensor: info.name })
      : undefined,
  };
}

export function rawToTensor(raw: RawTensor, file: string, opts: ReadTensorOptions = {}): Tensor {
  const ctx = { file, tensor: raw.name };
  if (!raw.array) {
    throw new SafetensorsError(
      `dtype ${raw.dtype} is not supported by sea (read its bytes with readRaw)`,
      ctx,
    );
  }
  const values = toSeaArray(raw.dtype, raw.array, opts.dtype, ctx);
  return tensor(values, raw.shape, {
    backend: opts.backend,
    dtype: opts.dtype ?? defaultSeaDType(raw.dtype),
  });
}

/** Shared bookkeeping over a validated header. */
export abstract class HeaderReader implements SafetensorsReader {
  constructor(
    readonly file: string,
    readonly header: SafetensorsHeader,
  ) {}

  get metadata(): Readonly<Record<string, string>> {
    return this.header.metadata;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const t = this.header.tensors.get(name);
    if (!t)
      throw new SafetensorsError(`no tensor named '${name}' (${this.header.tensors.size} tensors)`, {
        file: this.file,
        tensor: name,
      });
    return t;
  }

  abstract readRaw(name: string): Promise<RawTensor>;

  async readTensor(name: string, opts: ReadTensorOptions = {}): Promise<Tensor> {
    return rawToTensor(await this.readRaw(name), this.file, opts);
  }

  async close(): Promise<void> {}
}

/** A safetensors file held in memory. Reads return views of the buffer (no copies). */
export class SafetensorsBuffer extends HeaderReader {
  constructor(
    file: string,
    header: SafetensorsHeader,
    readonly bytes: Uint8Array,
  ) {
    super(file, header);
  }

  readRawSync(name: string): RawTensor {
    const info = this.info(name);
    const start = info.fileOffset;
    return makeRaw(info, this.bytes.subarray(start, start + info.byteLength), this.file);
  }

  async readRaw(name: string): Promise<RawTensor> {
    return this.readRawSync(name);
  }

  readTensorSync(name: string, opts: ReadTensorOptions = {}): Tensor {
    return rawToTensor(this.readRawSync(name), this.file, opts);
  }
}

export interface ParseOptions {
  /** Name used in error messages (default `<memory>`). */
  name?: string;
  /** Largest header accepted (default 100 MB). */
  maxHeaderBytes?: number;
}

/** Validates a whole safetensors file held in memory (browsers, fetched buffers). */
export function parseSafetensors(bytes: Uint8Array, opts: ParseOptions = {}): SafetensorsBuffer {
  const file = opts.name ?? '<memory>';
  if (!(bytes instanceof Uint8Array))
    throw new SafetensorsError('expected the file as a Uint8Array', { file });
  const n = readHeaderLength(
    bytes.subarray(0, 8),
    bytes.length,
    file,
    opts.maxHeaderBytes ?? MAX_HEADER_BYTES,
  );
  const header = parseHeader(bytes.subarray(8, 8 + n), bytes.length, file);
  return new SafetensorsBuffer(file, header, bytes);
}
