/**
 * float16 and bfloat16 by conversion: a 16-bit tensor is held as a Float64Array of its values
 * (`CpuMemory`), every kernel computes in float64 as for float64 inputs, and each float output is
 * rounded once to the inputs' 16-bit dtype (round to nearest even): the correctly rounded result,
 * the reference a 16-bit GPU kernel is held to.
 */
import { type DType, type HalfDType, isHalf, roundToDType, type TensorInfo } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { cast as castValues } from './cast.js';

// biome-ignore lint/suspicious/noExplicitAny: kernels of any signature pass through unchanged
type AnyKernel = (b: any, ...args: any[]) => unknown;

const isInfo = (a: unknown): a is TensorInfo =>
  !!a && typeof a === 'object' && 'dataId' in a && 'dtype' in a && 'shape' in a;

/** A 16-bit input as the kernels see it: its Float64Array of values, labelled float64. */
function widen(x: TensorInfo): TensorInfo {
  return isHalf(x.dtype) ? { ...x, dtype: 'float64' } : x;
}

/** Rounds a fresh float output to `dtype` (in a new Float64Array) and labels it so. */
function round(b: CpuBackend, r: TensorInfo, dtype: HalfDType): TensorInfo {
  const src = b.values(r);
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = roundToDType(src[i], dtype);
  b.free(r.dataId);
  return b.out(out, r.shape, dtype);
}

/**
 * Each kernel of `kernels` with 16-bit inputs run in float64: the inputs are relabelled float64,
 * and a float output is rounded to the (first) 16-bit input dtype. Calls without 16-bit inputs run
 * the kernel as it is.
 */
export function viaFloat64<T extends object>(kernels: T): T {
  const out: Record<string, AnyKernel> = {};
  for (const [name, kernel] of Object.entries(kernels as Record<string, AnyKernel>)) {
    out[name] = (b: CpuBackend, ...args: unknown[]) => {
      let h: HalfDType | null = null;
      const seen = (a: unknown): void => {
        if (!h && isInfo(a) && isHalf(a.dtype)) h = a.dtype;
      };
      for (const a of args) {
        if (Array.isArray(a)) a.forEach(seen);
        else seen(a);
      }
      if (!h) return kernel(b, ...args);
      const half: HalfDType = h;
      const mapped = args.map((a) =>
        Array.isArray(a) ? a.map((x) => (isInfo(x) ? widen(x) : x)) : isInfo(a) ? widen(a) : a,
      );
      const r = kernel(b, ...mapped);
      if (isInfo(r) && (r.dtype === 'float64' || r.dtype === 'float32')) return round(b, r, half);
      return r;
    };
  }
  return out as T;
}

/** cast with 16-bit ends: a 16-bit input is read as float64, a 16-bit output is rounded once. */
export function cast(b: CpuBackend, x: TensorInfo, dtype: DType): TensorInfo {
  const wide = widen(x);
  if (!isHalf(dtype)) return castValues(b, wide, dtype);
  return round(b, castValues(b, wide, 'float64'), dtype);
}

/** A new tensor of `size` elements equal to `value` (16-bit: the rounded value, held as float64). */
export function fill(
  b: CpuBackend,
  size: number,
  value: number,
  dtype: DType,
): TensorInfo & { shape: [number] } {
  if (isHalf(dtype)) {
    const w = new Float64Array(size).fill(roundToDType(value, dtype));
    return b.out(w, [size], dtype) as TensorInfo & { shape: [number] };
  }
  const a = allocArray(dtype, size);
  a.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return b.out(a, [size], dtype) as TensorInfo & { shape: [number] };
}
