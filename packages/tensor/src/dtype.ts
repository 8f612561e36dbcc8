import { DeviceError, DTypeError } from './errors.js';

/**
 * Compute dtypes. float16/bfloat16 exist only as storage (safetensors) and are converted to float32
 * on load. float64 is supported by the CPU backend for gradient checks; GPU backends may refuse it.
 * bool is stored one byte per element (0 or 1).
 */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface DTypeToArray {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  bool: Uint8Array;
}

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float64':
      return 8;
    case 'bool':
      return 1;
  }
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function assertDType(dtype: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new DTypeError(`unknown dtype '${dtype}'; expected one of ${DTYPES.join(', ')}`);
  }
}

export function allocArray<D extends DType>(dtype: D, size: number): DTypeToArray[D] {
  try {
    switch (dtype) {
      case 'float32':
        return new Float32Array(size) as DTypeToArray[D];
      case 'float64':
        return new Float64Array(size) as DTypeToArray[D];
      case 'int32':
        return new Int32Array(size) as DTypeToArray[D];
      case 'bool':
        return new Uint8Array(size) as DTypeToArray[D];
    }
  } catch (e) {
    // too large for one typed array, or for the host's memory
    if (e instanceof RangeError)
      throw new DeviceError(
        `cannot allocate ${size} ${dtype} values (${size * bytesPerElement(dtype)} bytes) in host memory: ${e.message}`,
      );
    throw e;
  }
  throw new DTypeError(`unknown dtype '${dtype as string}'`);
}

/** The dtype a typed array holds natively. */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Converts any numeric array into the typed array of `dtype` (copying). */
export function toTypedArray(values: ArrayLike<number> | ArrayLike<boolean>, dtype: DType): TypedArray {
  const out = allocArray(dtype, values.length);
  if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  } else if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) | 0;
  } else {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half (binary16) bits to a number; exact. */
export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits to a number; exact (bf16 is the top half of a float32). */
export function bf16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** Number to IEEE half bits, round to nearest even (for writing F16 safetensors). */
export function numberToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** Number to bfloat16 bits, round to nearest even. */
export function numberToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff;
  const lsb = (b >>> 16) & 1;
  return ((b + 0x7fff + lsb) >>> 16) & 0xffff;
}
