/** Elementwise unary math (float32; neg/abs/sign/square also int32; 'not' on bool). */
import type { TensorInfo, UnaryOp } from '@sea/tensor';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { elementwise } from './elementwise.js';

/**
 * erf in f32: Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7), so GELU and erf
 * agree with the float64 definitions to f32 rounding.
 */
export const ERF_WGSL = `
fn erf_f32(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  if (z < 0.5) {
    // Near zero the erfc form loses relative precision: use the Maclaurin series instead.
    let x2 = x * x;
    return x * 1.1283791671 * (1.0 - x2 / 3.0 + x2 * x2 / 10.0 - x2 * x2 * x2 / 42.0 + x2 * x2 * x2 * x2 / 216.0 - x2 * x2 * x2 * x2 * x2 / 1320.0);
  }
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}
fn tanh_f32(x: f32) -> f32 {
  // Some drivers overflow exp inside tanh for large |x|; tanh is ±1 to f32 precision past 10.
  let c = clamp(x, -10.0, 10.0);
  if (abs(c) < 0.0004) { return c; }
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}
`;

function floatExpr(op: UnaryOp): string {
  switch (op) {
    case 'neg':
      return '-x0';
    case 'abs':
      return 'abs(x0)';
    case 'exp':
      return 'exp(x0)';
    case 'log':
      return 'log(x0)';
    case 'sqrt':
      return 'sqrt(x0)';
    case 'rsqrt':
      return '1.0 / sqrt(x0)';
    case 'square':
      return 'x0 * x0';
    case 'reciprocal':
      return '1.0 / x0';
    case 'sin':
      return 'sin(x0)';
    case 'cos':
      return 'cos(x0)';
    case 'tanh':
      return 'tanh_f32(x0)';
    case 'sigmoid':
      return 'select(exp(x0) / (1.0 + exp(x0)), 1.0 / (1.0 + exp(-x0)), x0 >= 0.0)';
    case 'relu':
      return 'select(0.0, x0, x0 > 0.0 || x0 != x0)';
    case 'gelu':
      return '0.5 * x0 * (1.0 + erf_f32(x0 * 0.7071067811865476))';
    case 'gelu_tanh':
      return '0.5 * x0 * (1.0 + tanh_f32(0.7978845608028654 * (x0 + 0.044715 * x0 * x0 * x0)))';
    case 'erf':
      return 'erf_f32(x0)';
    case 'floor':
      return 'floor(x0)';
    case 'ceil':
      return 'ceil(x0)';
    case 'round':
      return 'round(x0)';
    case 'sign':
      return 'select(sign(x0), x0, x0 != x0)';
    case 'not':
      return 'select(0u, 1u, x0 == 0u)';
  }
}

/** Ops computed in f16 where the device has shader-f16 (exact or one rounding, like f32 math). */
const HALF_MATH = new Set<UnaryOp>(['neg', 'abs', 'square', 'relu', 'sign', 'floor', 'ceil', 'round']);

function intExpr(op: UnaryOp): string {
  switch (op) {
    case 'neg':
      return '-x0';
    case 'abs':
      return 'select(x0, -x0, x0 < 0i)';
    case 'square':
      return 'x0 * x0';
    case 'sign':
      return 'sign(x0)';
    default:
      throw new Error(`unary ${op} on int32`);
  }
}

export function unary(b: WebGpuBackend, op: UnaryOp, x: TensorInfo): TensorInfo {
  const outDtype = op === 'not' ? 'bool' : x.dtype;
  const expr = x.dtype === 'int32' ? intExpr(op) : floatExpr(op);
  const out = elementwise(
    b,
    `unary_${op}`,
    [{ data: b.data(x), shape: x.shape }],
    x.shape,
    outDtype,
    expr,
    ERF_WGSL,
    HALF_MATH.has(op),
  );
  return b.out(out, x.shape, outDtype);
}
