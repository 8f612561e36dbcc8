/**
 * Assertions of the suite: values against float64 references with an explicit tolerance, exact
 * comparisons for integer and bool outputs, and shape/dtype checks. Failures name the worst element
 * (flat index and multi-index), what was wanted, what came back and what was allowed.
 */
import type { DType, Tensor } from '@sea/tensor';

export interface Tolerance {
  /** Allowed error relative to |want| (or to the reference's magnitude, when given). */
  rtol: number;
  /** Allowed absolute error. */
  atol: number;
}

function multiIndex(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  let r = i;
  for (let a = shape.length - 1; a >= 0; a--) {
    idx.unshift(r % shape[a]);
    r = Math.floor(r / shape[a]);
  }
  return `[${idx.join(',')}]`;
}

/** Checks the tensor's shape and dtype, then downloads its values. */
export async function values(
  t: Tensor,
  shape: readonly number[],
  dtype: DType,
  what: string,
): Promise<ArrayLike<number>> {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: expected shape [${shape.join(',')}], got [${t.shape.join(',')}]`);
  }
  if (t.dtype !== dtype) throw new Error(`${what}: expected dtype ${dtype}, got ${t.dtype}`);
  return t.data();
}

/**
 * |got − want| ≤ atol + rtol·max(|want|, mag) element by element. `mag` is the reference's scale
 * where a value is a long sum (Σ|terms|), so cancellation does not demand more than float32 gives.
 * NaN must meet NaN and ±∞ must be met exactly.
 */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
  what: string,
  shape: readonly number[] = [want.length],
  mag?: ArrayLike<number>,
): void {
  if (got.length !== want.length)
    throw new Error(`${what}: expected ${want.length} values, got ${got.length}`);
  let bad = 0;
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    let ratio: number;
    if (Number.isNaN(w)) ratio = Number.isNaN(g) ? 0 : Number.POSITIVE_INFINITY;
    else if (!Number.isFinite(w)) ratio = g === w ? 0 : Number.POSITIVE_INFINITY;
    else if (!Number.isFinite(g)) ratio = Number.POSITIVE_INFINITY;
    else {
      const allowed = tol.atol + tol.rtol * Math.max(Math.abs(w), mag ? mag[i] : 0);
      ratio = Math.abs(g - w) / allowed;
    }
    if (ratio > 1) bad++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (bad > 0) {
    const w = want[worst];
    const allowed = tol.atol + tol.rtol * Math.max(Math.abs(w), mag ? mag[worst] : 0);
    throw new Error(
      `${what}: ${bad} of ${want.length} values out of tolerance (rtol ${tol.rtol}, atol ${tol.atol}); worst at ${multiIndex(worst, shape)}: got ${got[worst]}, want ${w} (error ${Math.abs(got[worst] - w).toExponential(3)}, allowed ${allowed.toExponential(3)})`,
    );
  }
}

/** Exact equality (integers, bools, indices). */
export function assertEqual(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  what: string,
  shape: readonly number[] = [want.length],
): void {
  if (got.length !== want.length)
    throw new Error(`${what}: expected ${want.length} values, got ${got.length}`);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i] + 0, want[i] + 0)) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (bad > 0) {
    throw new Error(
      `${what}: ${bad} of ${want.length} values differ; first at ${multiIndex(first, shape)}: got ${got[first]}, want ${want[first]}`,
    );
  }
}

/** Runs `fn` and checks it throws an error whose class and message match. */
export function assertThrows(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => Error,
  ...parts: string[]
) {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === null) throw new Error(`expected a ${errorClass.name}, nothing was thrown`);
  if (!(caught instanceof errorClass)) {
    throw new Error(
      `expected a ${errorClass.name}, got ${(caught as Error)?.name}: ${(caught as Error)?.message}`,
    );
  }
  for (const p of parts) {
    if (!caught.message.includes(p)) {
      throw new Error(`expected the ${errorClass.name} message to mention '${p}', got: ${caught.message}`);
    }
  }
}
