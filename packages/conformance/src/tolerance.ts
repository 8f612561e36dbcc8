/**
 * The suite's one tolerance table. Every value check allows |got − want| ≤ atol + rtol·max(|want|,
 * mag) (check.ts), with (rtol, atol) from this table for the output's dtype; nothing else sets a
 * tolerance, and no single case widens it.
 *
 * - float64 and float32 compute and store in their own dtype: the row's rtol/atol are the error of a
 *   short computation in that dtype (about 10⁴·u for float64, 170·u for float32, u the unit
 *   roundoff). A group passes `factor` for a long reduction (√n or n for n terms, or the condition of
 *   the composition), and a backend's `tolerance.scale` states how much more its kernels' float32
 *   sums err than that (the CPU sums in float64); both multiply the row.
 * - float16 and bfloat16 are stored in 16 bits but computed in float32 (inputs exact in float32,
 *   float32 accumulation, one rounding of the output): the error is at most one 16-bit rounding of the
 *   result, u₁₆·|want| (taken twice, for a result whose float32 value sits near a rounding boundary
 *   and for the float32 error that moves it across), plus the float32 computation's own error, the
 *   float32 row times the same factor and scale. Their atol adds half the smallest float16 subnormal
 *   step (2⁻²⁵), what rounding a result below 2⁻¹⁴ can cost; bfloat16 has float32's range.
 */
import { type FloatDType, unitRoundoff } from '@sea/tensor';
import type { Tolerance } from './check.js';

export interface ToleranceRow {
  /** Unit roundoff of the stored dtype. */
  readonly u: number;
  /** The dtype the kernels compute and accumulate in. */
  readonly accumulates: 'float64' | 'float32';
  /** Relative error allowed from storing the result (16-bit: 2u; otherwise covered by `compute`). */
  readonly storeRtol: number;
  /** Absolute error allowed from storing the result. */
  readonly storeAtol: number;
  /** The error of the computation in `accumulates`, before `factor` and the backend's scale. */
  readonly compute: Tolerance;
}

const F64: Tolerance = { rtol: 1e-12, atol: 1e-13 };
const F32: Tolerance = { rtol: 1e-5, atol: 1e-6 };

export const TOLERANCE_TABLE: Readonly<Record<FloatDType, ToleranceRow>> = {
  float64: { u: unitRoundoff('float64'), accumulates: 'float64', storeRtol: 0, storeAtol: 0, compute: F64 },
  float32: { u: unitRoundoff('float32'), accumulates: 'float32', storeRtol: 0, storeAtol: 0, compute: F32 },
  float16: {
    u: unitRoundoff('float16'),
    accumulates: 'float32',
    storeRtol: 2 * unitRoundoff('float16'),
    storeAtol: 2 ** -25,
    compute: F32,
  },
  bfloat16: {
    u: unitRoundoff('bfloat16'),
    accumulates: 'float32',
    storeRtol: 2 * unitRoundoff('bfloat16'),
    storeAtol: 0,
    compute: F32,
  },
};

/**
 * The tolerance of a result of `dtype`: the store term plus the compute term times `factor` (the
 * group's reduction-length factor times the backend's per-primitive scale).
 */
export function toleranceFor(dtype: FloatDType, factor = 1, compute?: Partial<Tolerance>): Tolerance {
  const row = TOLERANCE_TABLE[dtype];
  const c = { ...row.compute, ...compute };
  return { rtol: row.storeRtol + c.rtol * factor, atol: row.storeAtol + c.atol * factor };
}
