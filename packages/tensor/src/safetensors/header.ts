/**
 * Validation of the safetensors layout: the 8-byte little-endian header length N, the N-byte UTF-8
 * JSON header, and the byte buffer it describes. Every field is checked before anything is
 * allocated from it; the tensors' byte ranges must tile the buffer exactly (no gaps, no overlaps, no
 * trailing bytes), as Hugging Face's reference implementation requires.
 */

import {
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
} from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { type Json, JsonObject, JsonSyntaxError, parseJson } from './json.js';
import { tensorNameProblem } from './names.js';

/** Largest header accepted by default (Hugging Face's reference implementation uses the same cap). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Number of elements (product of the shape). */
  readonly size: number;
  /** [begin, end) relative to the start of the byte buffer. */
  readonly dataOffsets: readonly [number, number];
  readonly byteLength: number;
  /** Absolute file offset of the tensor's first byte (8 + N + begin). */
  readonly fileOffset: number;
}

export interface SafetensorsHeader {
  /** N, the JSON header's length in bytes. */
  readonly headerLength: number;
  /** Absolute offset of the byte buffer (8 + N). */
  readonly dataStart: number;
  /** Length of the byte buffer. */
  readonly dataLength: number;
  /** Tensors by name, in name order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Reads N from the first 8 bytes and checks it against the file size and the cap.
 * `first8` may be shorter than 8 bytes when the file is.
 */
export function readHeaderLength(
  first8: Uint8Array,
  fileSize: number,
  file: string,
  maxHeaderBytes = MAX_HEADER_BYTES,
): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new SafetensorsError(`file is ${fileSize} bytes, too short for the 8-byte header length`, {
      file,
      offset: 0,
    });
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    throw new SafetensorsError(`header length ${n} exceeds the limit of ${maxHeaderBytes} bytes`, {
      file,
      offset: 0,
    });
  }
  const len = Number(n);
  if (len > fileSize - 8) {
    throw new SafetensorsError(`header length ${len} runs past the end of the file (${fileSize} bytes)`, {
      file,
      offset: 0,
    });
  }
  if (len < 2)
    throw new SafetensorsError(`header length ${len} is too short for a JSON object`, { file, offset: 0 });
  return len;
}

/** Index of the first byte that is not part of well-formed UTF-8, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  const n = b.length;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = c & 0x07;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Parses and validates the header bytes (the N bytes after the length) of a file of `fileSize` bytes. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLength = headerBytes.length;
  const dataStart = 8 + headerLength;
  const dataLength = fileSize - dataStart;
  if (dataLength < 0) throw new SafetensorsError('header runs past the end of the file', { file, offset: 0 });

  const bad = firstInvalidUtf8(headerBytes);
  if (bad >= 0) throw new SafetensorsError('header is not valid UTF-8', { file, offset: 8 + bad });
  let text: string;
  try {
    text = decoder.decode(headerBytes);
  } catch {
    throw new SafetensorsError('header is not valid UTF-8', { file, offset: 8 });
  }
  /** Absolute byte offset of character index `pos` in the header text. */
  const at = (pos: number): number => 8 + encoder.encode(text.slice(0, pos)).length;

  if (text[0] !== '{') {
    throw new SafetensorsError("header does not start with '{'", { file, offset: 8 });
  }
  let root: Json;
  try {
    root = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      throw new SafetensorsError(`header is not valid JSON: ${e.message}`, { file, offset: at(e.pos) });
    }
    throw new SafetensorsError(`header is not valid JSON: ${String(e)}`, { file, offset: 8 });
  }
  if (!(root instanceof JsonObject)) {
    throw new SafetensorsError('header is not a JSON object', { file, offset: 8 });
  }

  const metadata: Record<string, string> = Object.create(null);
  const list: SafetensorsTensorInfo[] = [];
  for (const [name, value] of root.entries) {
    const keyAt = root.keyPos.get(name) ?? 0;
    if (name === '__metadata__') {
      if (value === null) continue;
      if (!(value instanceof JsonObject)) {
        throw new SafetensorsError('__metadata__ must be an object of strings', { file, offset: at(keyAt) });
      }
      for (const [k, v] of value.entries) {
        if (typeof v !== 'string') {
          throw new SafetensorsError(
            `__metadata__ value of ${JSON.stringify(k)} is not a string (got ${jsonType(v)})`,
            {
              file,
              offset: at(value.keyPos.get(k) ?? keyAt),
            },
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    const err = (problem: string, pos = keyAt): SafetensorsError =>
      new SafetensorsError(problem, { file, tensor: name, offset: at(pos) });
    const nameProblem = tensorNameProblem(name);
    if (nameProblem) throw err(nameProblem);
    if (!(value instanceof JsonObject)) throw err(`entry is not an object (got ${jsonType(value)})`);
    const field = (f: string): Json => {
      if (!value.entries.has(f)) throw err(`entry has no '${f}'`);
      return value.entries.get(f) as Json;
    };
    const fpos = (f: string): number => value.keyPos.get(f) ?? keyAt;

    const dtype = field('dtype');
    if (typeof dtype !== 'string') throw err(`dtype is not a string (got ${jsonType(dtype)})`, fpos('dtype'));
    if (!isSafetensorsDType(dtype)) {
      throw err(
        `unknown dtype ${JSON.stringify(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`,
        fpos('dtype'),
      );
    }

    const shape = field('shape');
    if (!Array.isArray(shape)) throw err(`shape is not an array (got ${jsonType(shape)})`, fpos('shape'));
    if (shape.length > 64) throw err(`shape has ${shape.length} dimensions (more than 64)`, fpos('shape'));
    let size = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        throw err(`shape ${JSON.stringify(shape)} must hold non-negative integers`, fpos('shape'));
      }
    }
    const dims = shape as number[];
    if (dims.includes(0)) size = 0;
    else {
      for (const d of dims) {
        size *= d;
        if (size > Number.MAX_SAFE_INTEGER)
          throw err(`shape ${JSON.stringify(shape)} has too many elements`, fpos('shape'));
      }
    }

    const offs = field('data_offsets');
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      throw err(
        `data_offsets ${JSON.stringify(offs)} must be two non-negative integers`,
        fpos('data_offsets'),
      );
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw err(`data_offsets [${begin},${end}] are not ascending`, fpos('data_offsets'));
    if (end > dataLength) {
      throw err(
        `data_offsets [${begin},${end}] run past the end of the ${dataLength}-byte buffer`,
        fpos('data_offsets'),
      );
    }
    const bits = SAFETENSORS_DTYPE_BITS[dtype];
    const byteLength = end - begin;
    // size * bits may exceed 2^53 only for shapes far larger than any buffer that fits in a file.
    if (size > byteLength * 8 || (size * bits) % 8 !== 0 || (size * bits) / 8 !== byteLength) {
      const expect =
        size > Number.MAX_SAFE_INTEGER / 64
          ? 'more than 2^47 bytes'
          : (size * bits) % 8
            ? `${size * bits} bits, not a whole number of bytes`
            : `${(size * bits) / 8} bytes`;
      throw err(
        `byte range [${begin},${end}) holds ${byteLength} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${expect}`,
        fpos('data_offsets'),
      );
    }
    list.push(
      Object.freeze({
        name,
        dtype,
        shape: Object.freeze([...dims]),
        size,
        dataOffsets: Object.freeze([begin, end] as [number, number]),
        byteLength,
        fileOffset: dataStart + begin,
      }),
    );
  }

  // The ranges must tile [0, dataLength) exactly.
  const byOffset = [...list].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let expected = 0;
  let prev: SafetensorsTensorInfo | undefined;
  for (const t of byOffset) {
    const [begin, end] = t.dataOffsets;
    if (begin < expected) {
      throw new SafetensorsError(
        `byte range [${begin},${end}) overlaps tensor '${prev?.name}' [${prev?.dataOffsets[0]},${prev?.dataOffsets[1]})`,
        { file, tensor: t.name, offset: dataStart + begin },
      );
    }
    if (begin > expected) {
      throw new SafetensorsError(
        `${begin - expected} unused bytes in the buffer before this tensor's range [${begin},${end})`,
        {
          file,
          tensor: t.name,
          offset: dataStart + expected,
        },
      );
    }
    expected = end;
    prev = t;
  }
  if (expected !== dataLength) {
    throw new SafetensorsError(`${dataLength - expected} trailing bytes after the last tensor`, {
      file,
      offset: dataStart + expected,
    });
  }

  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const t of [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    tensors.set(t.name, t);
  return { headerLength, dataStart, dataLength, tensors, metadata: Object.freeze(metadata) };
}

function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof JsonObject) return 'object';
  return typeof v;
}
