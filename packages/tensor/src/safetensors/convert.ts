/**
 * Conversions between safetensors storage bytes (little-endian) and typed arrays / sea dtypes.
 */
import {
  bf16BitsToNumber,
  type DType,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  type TypedArray,
} from '../dtype.js';
import { isConvertible, isFloatStorage, itemSize, type SafetensorsDType } from './dtypes.js';
import { SafetensorsError, type SafetensorsErrorContext } from './errors.js';

/** The typed array each convertible storage dtype is viewed as (F16/BF16: the raw bit patterns). */
export type StorageArray =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function ctorOf(dtype: SafetensorsDType) {
  switch (dtype) {
    case 'F64':
      return Float64Array;
    case 'F32':
      return Float32Array;
    case 'F16':
    case 'BF16':
    case 'U16':
      return Uint16Array;
    case 'I64':
      return BigInt64Array;
    case 'U64':
      return BigUint64Array;
    case 'I32':
      return Int32Array;
    case 'U32':
      return Uint32Array;
    case 'I16':
      return Int16Array;
    case 'I8':
      return Int8Array;
    case 'U8':
    case 'BOOL':
      return Uint8Array;
    default:
      return undefined;
  }
}

/** Whether `a` is the typed array type `dtype` is stored as. */
export function isStorageArrayOf(dtype: SafetensorsDType, a: unknown): a is StorageArray {
  const C = ctorOf(dtype);
  return C !== undefined && a instanceof C;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/**
 * Views little-endian storage bytes as the dtype's typed array (copying when the bytes are not
 * aligned, or on big-endian hosts). Throws for dtypes sea does not convert (F8_*, F6_*, F4, C64).
 */
export function storageArray(
  dtype: SafetensorsDType,
  bytes: Uint8Array,
  ctx: SafetensorsErrorContext = {},
): StorageArray {
  const C = ctorOf(dtype);
  const size = itemSize(dtype);
  if (!C || size === undefined)
    throw new SafetensorsError(`dtype ${dtype} is not supported for conversion`, ctx);
  if (bytes.length % size !== 0) {
    throw new SafetensorsError(`${bytes.length} bytes are not a whole number of ${dtype} elements`, ctx);
  }
  let b = bytes;
  if (b.byteOffset % size !== 0 || !LITTLE_ENDIAN) {
    b = bytes.slice();
    if (!LITTLE_ENDIAN) swapBytes(b, size);
  }
  return new C(b.buffer as ArrayBuffer, b.byteOffset, b.length / size);
}

/** Little-endian bytes of a storage array (a view when possible). */
export function storageBytes(a: StorageArray): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return view;
  const copy = view.slice();
  swapBytes(copy, a.BYTES_PER_ELEMENT);
  return copy;
}

let f16Table: Float32Array | null = null;

/** F16 bit patterns → float32 (exact; every half is a float32). */
export function f16ToFloat32(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
    // keep NaN payloads recognisable as quiet NaNs of the same sign
  }
  const out = new Float32Array(bits.length);
  const t = f16Table;
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/** BF16 bit patterns → float32 (exact: bf16 is the top half of a float32). */
export function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const u = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return new Float32Array(u.buffer);
}

/** The sea dtype a storage dtype loads as by default. */
export function defaultSeaDType(dtype: SafetensorsDType): DType {
  if (isFloatStorage(dtype)) return 'float32';
  if (dtype === 'BOOL') return 'bool';
  return 'int32';
}

/** The sea dtypes a storage dtype may load as. */
export function allowedSeaDTypes(dtype: SafetensorsDType): readonly DType[] {
  if (!isConvertible(dtype)) return [];
  if (isFloatStorage(dtype)) return ['float32', 'float64', 'float16', 'bfloat16'];
  if (dtype === 'BOOL') return ['bool', 'int32', 'float32', 'float64'];
  return ['int32', 'float32', 'float64'];
}

/** Values of the storage array as numbers at index i (for I64/U64: Number of the bigint). */
function numberGetter(dtype: SafetensorsDType, a: StorageArray): (i: number) => number {
  if (dtype === 'F16') return (i) => f16BitsToNumber(a[i] as number);
  if (dtype === 'BF16') return (i) => bf16BitsToNumber(a[i] as number);
  if (dtype === 'I64' || dtype === 'U64') return (i) => Number(a[i] as bigint);
  return (i) => a[i] as number;
}

/**
 * Converts a storage array to the typed array of a sea dtype: F16/BF16/F64 → float32,
 * integers → int32 (checking every value fits), BOOL → bool.
 */
export function toSeaArray(
  dtype: SafetensorsDType,
  a: StorageArray,
  target: DType = defaultSeaDType(dtype),
  ctx: SafetensorsErrorContext = {},
): TypedArray {
  const allowed = allowedSeaDTypes(dtype);
  if (!allowed.length) throw new SafetensorsError(`dtype ${dtype} is not supported for conversion`, ctx);
  if (!allowed.includes(target)) {
    throw new SafetensorsError(`cannot load ${dtype} as ${target}; allowed: ${allowed.join(', ')}`, ctx);
  }
  const n = a.length;
  if (target === 'float16' || target === 'bfloat16') {
    // bit patterns kept as stored when the formats agree; otherwise rounded to nearest even
    if ((dtype === 'F16' && target === 'float16') || (dtype === 'BF16' && target === 'bfloat16'))
      return a as Uint16Array;
    const get = numberGetter(dtype, a);
    const out = new Uint16Array(n);
    const enc = target === 'float16' ? numberToF16Bits : numberToBf16Bits;
    for (let i = 0; i < n; i++) out[i] = enc(get(i));
    return out;
  }
  if (target === 'float32') {
    if (dtype === 'F32') return a as Float32Array;
    if (dtype === 'F16') return f16ToFloat32(a as Uint16Array);
    if (dtype === 'BF16') return bf16ToFloat32(a as Uint16Array);
    const out = new Float32Array(n);
    const get = numberGetter(dtype, a);
    for (let i = 0; i < n; i++) out[i] = get(i);
    return out;
  }
  if (target === 'float64') {
    if (dtype === 'F64') return a as Float64Array;
    const out = new Float64Array(n);
    const get = numberGetter(dtype, a);
    for (let i = 0; i < n; i++) out[i] = get(i);
    return out;
  }
  if (target === 'bool') {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = a[i] ? 1 : 0;
    return out;
  }
  // int32
  if (dtype === 'I32') return a as Int32Array;
  const out = new Int32Array(n);
  if (dtype === 'I64' || dtype === 'U64') {
    const b = a as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const v = b[i];
      if (v > 2147483647n || v < -2147483648n) {
        throw new SafetensorsError(
          `${dtype} value ${v} at index ${i} does not fit in int32; read it with readRaw (as a ${dtype === 'I64' ? 'BigInt64Array' : 'BigUint64Array'})`,
          ctx,
        );
      }
      out[i] = Number(v);
    }
    return out;
  }
  if (dtype === 'U32') {
    const b = a as Uint32Array;
    for (let i = 0; i < n; i++) {
      if (b[i] > 2147483647) {
        throw new SafetensorsError(
          `U32 value ${b[i]} at index ${i} does not fit in int32; read it with readRaw`,
          ctx,
        );
      }
      out[i] = b[i];
    }
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = a[i] as number;
  return out;
}

const INT_RANGE: Partial<Record<SafetensorsDType, readonly [number, number]>> = {
  I32: [-2147483648, 2147483647],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U32: [0, 4294967295],
  U16: [0, 65535],
  U8: [0, 255],
  BOOL: [0, 1],
};

/**
 * Encodes a source storage array (`from`, holding values of storage dtype `from`) as storage dtype
 * `to`, returning little-endian bytes. Floats convert to narrower floats with round-to-nearest-even
 * (float64 → F16/BF16 goes through float32, where double rounding is innocuous: 24 ≥ 2·11+2).
 * Integers convert to other integer widths only when every value fits; floats never convert to
 * integers or BOOL (cast first).
 */
export function encodeStorage(
  from: SafetensorsDType,
  a: StorageArray,
  to: SafetensorsDType,
  ctx: SafetensorsErrorContext = {},
): Uint8Array {
  if (from === to) {
    if (to === 'BOOL') checkRange(from, a, to, ctx);
    return storageBytes(a);
  }
  if (!isConvertible(from) || !isConvertible(to)) {
    throw new SafetensorsError(`cannot convert ${from} data to ${to}`, ctx);
  }
  const n = a.length;
  if (isFloatStorage(to)) {
    const get = numberGetter(from, a);
    if (to === 'F64') {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return storageBytes(out);
    }
    if (to === 'F32') {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = get(i);
      return storageBytes(out);
    }
    const out = new Uint16Array(n);
    if (to === 'F16') for (let i = 0; i < n; i++) out[i] = numberToF16Bits(get(i));
    else if (from === 'F32') {
      // fast path float32 → bf16, round to nearest even (NaN stays NaN)
      const u = new Uint32Array(a.buffer, a.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const b = u[i];
        out[i] =
          (b & 0x7f800000) === 0x7f800000 && b & 0x7fffff
            ? ((b >>> 16) | 0x40) & 0xffff
            : ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
      }
    } else for (let i = 0; i < n; i++) out[i] = numberToBf16Bits(get(i));
    return storageBytes(out);
  }
  if (isFloatStorage(from)) {
    throw new SafetensorsError(
      `cannot store ${from} values as ${to} (floats are not converted to integers; cast first)`,
      ctx,
    );
  }
  // integer/bool → integer/bool
  checkRange(from, a, to, ctx);
  if (to === 'I64' || to === 'U64') {
    const out = to === 'I64' ? new BigInt64Array(n) : new BigUint64Array(n);
    if (from === 'I64' || from === 'U64') for (let i = 0; i < n; i++) out[i] = a[i] as bigint;
    else for (let i = 0; i < n; i++) out[i] = BigInt(a[i] as number);
    return storageBytes(out);
  }
  const C = ctorOf(to) as new (n: number) => StorageArray;
  const out = new C(n);
  if (from === 'I64' || from === 'U64') for (let i = 0; i < n; i++) out[i] = Number(a[i] as bigint);
  else for (let i = 0; i < n; i++) out[i] = a[i] as number;
  return storageBytes(out);
}

function checkRange(
  from: SafetensorsDType,
  a: StorageArray,
  to: SafetensorsDType,
  ctx: SafetensorsErrorContext,
): void {
  const n = a.length;
  if (to === 'I64' || to === 'U64') {
    if (to === 'U64' && from !== 'U64') {
      for (let i = 0; i < n; i++) {
        if (a[i] < 0) throw new SafetensorsError(`value ${a[i]} at index ${i} does not fit in ${to}`, ctx);
      }
    }
    if (to === 'I64' && from === 'U64') {
      for (let i = 0; i < n; i++) {
        if ((a[i] as bigint) > 9223372036854775807n) {
          throw new SafetensorsError(`value ${a[i]} at index ${i} does not fit in ${to}`, ctx);
        }
      }
    }
    return;
  }
  const [lo, hi] = INT_RANGE[to] as readonly [number, number];
  if (from === 'I64' || from === 'U64') {
    const blo = BigInt(lo);
    const bhi = BigInt(hi);
    for (let i = 0; i < n; i++) {
      const v = a[i] as bigint;
      if (v < blo || v > bhi)
        throw new SafetensorsError(`value ${v} at index ${i} does not fit in ${to}`, ctx);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = a[i] as number;
    if (v < lo || v > hi) throw new SafetensorsError(`value ${v} at index ${i} does not fit in ${to}`, ctx);
  }
}
