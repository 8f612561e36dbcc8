/**
 * Seeded inputs. Values are drawn in float64 and rounded to the dtype under test, so the float64
 * reference sees exactly the numbers the backend holds.
 */
import { type DType, Rng, roundToDType, sizeOf } from '@sea/tensor';

/** A stable seed from a test's name, so each test draws its own reproducible inputs. */
export function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function rngFor(name: string): Rng {
  return new Rng(seedOf(name));
}

/** Rounds to what the dtype stores. */
export function toDType(x: number, dtype: DType): number {
  return roundToDType(x, dtype);
}

/** Rounds every value to what the dtype stores (for inputs derived from drawn values). */
export function roundAll(xs: ArrayLike<number>, dtype: DType): Float64Array {
  const out = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = roundToDType(xs[i], dtype);
  return out;
}

export function normal(rng: Rng, shape: readonly number[], dtype: DType, std = 1, mean = 0): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = toDType(mean + std * rng.normal(), dtype);
  return out;
}

export function uniform(
  rng: Rng,
  shape: readonly number[],
  dtype: DType,
  lo: number,
  hi: number,
): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = toDType(lo + (hi - lo) * rng.uniform(), dtype);
  return out;
}

/** Integers in [lo, hi). */
export function ints(rng: Rng, shape: readonly number[], lo: number, hi: number): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = lo + rng.int(hi - lo);
  return out;
}

export function bools(rng: Rng, shape: readonly number[], p = 0.5): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform() < p ? 1 : 0;
  return out;
}

/** Values in `dtype`'s natural range for a test of numeric ops (normal for floats, small ints for int32). */
export function numeric(rng: Rng, shape: readonly number[], dtype: DType): Float64Array {
  if (dtype === 'int32') return ints(rng, shape, -50, 50);
  if (dtype === 'bool') return bools(rng, shape);
  return normal(rng, shape, dtype);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Calls fn with the multi-index of every element of `shape`, in row-major order. */
export function forEachIndex(shape: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(idx, flat);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
}

/** Flat offset of `idx` (an index into `outShape`) in an array of `shape` broadcast to `outShape`. */
export function broadcastOffset(
  idx: readonly number[],
  shape: readonly number[],
  outShape: readonly number[],
): number {
  const off = outShape.length - shape.length;
  let flat = 0;
  for (let a = 0; a < shape.length; a++) {
    flat = flat * shape[a] + (shape[a] === 1 ? 0 : idx[a + off]);
  }
  return flat;
}

/** NumPy broadcast of two shapes (reference side; throws on mismatch). */
export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`test bug: cannot broadcast ${a} and ${b}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}
