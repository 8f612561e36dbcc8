import type { TensorInfo, TypedArray, UnaryOp } from '@sea/tensor';
import { allocArray } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';

// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969),
// as in his CALERF (netlib specfun): relative error below 1e-16 in double precision on every range.
const ERF_A = [
  3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694, 0.18577770618460315,
];
const ERF_B = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171];
const ERF_C = [
  0.5641884969886701, 8.883149794388377, 66.11919063714163, 298.6351381974001, 881.952221241769,
  1712.0476126340707, 2051.0783778260716, 1230.3393547979972, 2.1531153547440383e-8,
];
const ERF_D = [
  15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903, 3290.7992357334597,
  4362.619090143247, 3439.3676741437216, 1230.3393548037495,
];
const ERF_P = [
  0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 0.0006587491615298378,
  0.016315387137302097,
];
const ERF_Q = [
  2.568520192289822, 1.8729528499234673, 0.5279051029514285, 0.06051834131244132, 0.0023352049762686918,
];
const INV_SQRT_PI = 0.5641895835477563;

/** exp(−y²) without the cancellation of forming y² directly (Cody's split at 1/16). */
function expNegSq(y: number): number {
  const ys = Math.trunc(y * 16) / 16;
  const del = (y - ys) * (y + ys);
  return Math.exp(-ys * ys) * Math.exp(-del);
}

/** erfc(y) for y > 0.46875 (Cody's two outer ranges). */
function erfcPositive(y: number): number {
  if (y <= 4) {
    let num = ERF_C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + ERF_C[i]) * y;
      den = (den + ERF_D[i]) * y;
    }
    return ((num + ERF_C[7]) / (den + ERF_D[7])) * expNegSq(y);
  }
  if (y >= 26.543) return 0;
  const z = 1 / (y * y);
  let num = ERF_P[5] * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + ERF_P[i]) * z;
    den = (den + ERF_Q[i]) * z;
  }
  const r = (z * (num + ERF_P[4])) / (den + ERF_Q[4]);
  return ((INV_SQRT_PI - r) / y) * expNegSq(y);
}

function erfSmall(x: number): number {
  const z = x * x;
  let num = ERF_A[4] * z;
  let den = z;
  for (let i = 0; i < 3; i++) {
    num = (num + ERF_A[i]) * z;
    den = (den + ERF_B[i]) * z;
  }
  return (x * (num + ERF_A[3])) / (den + ERF_B[3]);
}

export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) return erfSmall(x);
  if (Number.isNaN(y)) return x;
  const r = 0.5 - erfcPositive(y) + 0.5;
  return x < 0 ? -r : r;
}

export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= 0.46875) return 1 - erfSmall(x);
  if (Number.isNaN(y)) return x;
  const r = erfcPositive(y);
  return x < 0 ? 2 - r : r;
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** x·Φ(x) as ½x·erfc(−x/√2): no cancellation for negative x, unlike ½x(1+erf(x/√2)). */
export function gelu(x: number): number {
  return 0.5 * x * erfc(-x * SQRT1_2);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x); // half toward +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function fnOf(op: UnaryOp, int: boolean): (x: number) => number {
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'abs':
      return Math.abs;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'rsqrt':
      return (x) => 1 / Math.sqrt(x);
    case 'square':
      return int ? (x) => Math.imul(x, x) : (x) => x * x;
    case 'reciprocal':
      return (x) => 1 / x;
    case 'sin':
      return Math.sin;
    case 'cos':
      return Math.cos;
    case 'tanh':
      return Math.tanh;
    case 'sigmoid':
      return (x) => {
        if (x >= 0) return 1 / (1 + Math.exp(-x));
        const e = Math.exp(x);
        return e / (1 + e);
      };
    case 'relu':
      return (x) => (x > 0 || Number.isNaN(x) ? x : 0);
    case 'gelu':
      return gelu;
    case 'gelu_tanh':
      return (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    case 'erf':
      return erf;
    case 'floor':
      return Math.floor;
    case 'ceil':
      return Math.ceil;
    case 'round':
      return roundHalfEven;
    case 'sign':
      return Math.sign;
    case 'not':
      return (x) => (x ? 0 : 1);
  }
}

function apply(f: (x: number) => number, src: TypedArray, out: TypedArray): void {
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
}

/** Output dtype = input dtype (bool for 'not'); float math is done in double and rounded once. */
export function unary(b: CpuBackend, op: UnaryOp, x: TensorInfo): TensorInfo {
  const src = b.values(x);
  const out = allocArray(x.dtype, src.length);
  if (op === 'relu') {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      out[i] = v > 0 || Number.isNaN(v) ? v : 0;
    }
  } else {
    apply(fnOf(op, x.dtype === 'int32'), src, out);
  }
  return b.out(out, x.shape, x.dtype);
}
