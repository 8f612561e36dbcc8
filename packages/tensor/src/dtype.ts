import { DTypeError } from './errors.js';

/**
 * Compute dtypes. float16 (IEEE binary16) and bfloat16 are compute dtypes like float32: backends
 * that list them (`Backend.dtypes`) hold them as 16-bit words (a Uint16Array of bit patterns on the
 * host side of `upload`/`read`), ops take inputs of one float dtype, kernels compute in float32 and
 * round their outputs once to the input dtype. `Tensor.data()` of a 16-bit tensor gives float32
 * values. float64 is supported by the CPU backend for gradient checks; GPU backends may refuse it.
 * bool is stored one byte per element (0 or 1).
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int32' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'bool'];

/** The float dtypes. */
export type FloatDType = 'float32' | 'float64' | 'float16' | 'bfloat16';
/** The 16-bit float dtypes (stored as bit patterns in a Uint16Array). */
export type HalfDType = 'float16' | 'bfloat16';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array;

/** The storage array of each dtype (what `Backend.upload` takes and `Backend.read` gives). */
export interface DTypeToArray {
  float32: Float32Array;
  float64: Float64Array;
  /** IEEE half bit patterns. */
  float16: Uint16Array;
  /** bfloat16 bit patterns (the top half of a float32). */
  bfloat16: Uint16Array;
  int32: Int32Array;
  bool: Uint8Array;
}

/** The host array of each dtype as `Tensor.data()` gives it: 16-bit floats widen to float32. */
export interface DTypeToHostArray extends Omit<DTypeToArray, 'float16' | 'bfloat16'> {
  float16: Float32Array;
  bfloat16: Float32Array;
}

export function bytesPerElement(dtype: DType): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
      return 4;
    case 'float64':
      return 8;
    case 'float16':
    case 'bfloat16':
      return 2;
    case 'bool':
      return 1;
  }
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * Unit roundoff u = 2^−p of a float dtype (p = significand bits with the implicit one): the largest
 * relative error of one round-to-nearest. float64 2^−53, float32 2^−24, float16 2^−11, bfloat16 2^−8.
 */
export function unitRoundoff(dtype: FloatDType): number {
  switch (dtype) {
    case 'float64':
      return 2 ** -53;
    case 'float32':
      return 2 ** -24;
    case 'float16':
      return 2 ** -11;
    case 'bfloat16':
      return 2 ** -8;
  }
}

/** Rounds a number to the nearest value of `dtype` (ties to even); identity for float64. */
export function roundToDType(x: number, dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(x);
    case 'float16':
      return f16BitsToNumber(numberToF16Bits(x));
    case 'bfloat16':
      return bf16BitsToNumber(numberToBf16Bits(x));
    case 'int32':
      return x | 0;
    case 'bool':
      return x ? 1 : 0;
    default:
      return x;
  }
}

/** 16-bit float bit patterns to float32 values. */
export function halfBitsToFloat32(bits: Uint16Array, dtype: HalfDType): Float32Array {
  const out = new Float32Array(bits.length);
  if (dtype === 'bfloat16') {
    const w = new Uint32Array(out.buffer);
    for (let i = 0; i < bits.length; i++) w[i] = bits[i] << 16;
  } else {
    for (let i = 0; i < bits.length; i++) out[i] = f16BitsToNumber(bits[i]);
  }
  return out;
}

/** Numbers to 16-bit float bit patterns, round to nearest even. */
export function numbersToHalfBits(values: ArrayLike<number>, dtype: HalfDType): Uint16Array {
  const out = new Uint16Array(values.length);
  const enc = dtype === 'bfloat16' ? numberToBf16Bits : numberToF16Bits;
  for (let i = 0; i < values.length; i++) out[i] = enc(Number(values[i]));
  return out;
}

export function assertDType(dtype: string): asserts dtype is DType {
  if (!DTYPES.includes(dtype as DType)) {
    throw new DTypeError(`unknown dtype '${dtype}'; expected one of ${DTYPES.join(', ')}`);
  }
}

export function allocArray<D extends DType>(dtype: D, size: number): DTypeToArray[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size) as DTypeToArray[D];
    case 'float64':
      return new Float64Array(size) as DTypeToArray[D];
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(size) as DTypeToArray[D];
    case 'int32':
      return new Int32Array(size) as DTypeToArray[D];
    case 'bool':
      return new Uint8Array(size) as DTypeToArray[D];
    default:
      throw new DTypeError(`unknown dtype '${dtype as string}'`);
  }
}

/**
 * The dtype a typed array holds natively. A Uint16Array holds 16-bit float bit patterns of a dtype
 * it does not name, so it has none: the caller must say float16 or bfloat16.
 */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint16Array) {
    throw new DTypeError(
      'a Uint16Array holds float16 or bfloat16 bit patterns; name the dtype ({ dtype: "float16" } or "bfloat16")',
    );
  }
  return 'bool';
}

/**
 * Converts any numeric array into the storage array of `dtype` (copying); numbers become 16-bit bit
 * patterns for float16/bfloat16 (round to nearest even).
 */
export function toTypedArray(values: ArrayLike<number> | ArrayLike<boolean>, dtype: DType): TypedArray {
  if (isHalf(dtype)) {
    const nums = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) nums[i] = Number(values[i]);
    return numbersToHalfBits(nums, dtype);
  }
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
