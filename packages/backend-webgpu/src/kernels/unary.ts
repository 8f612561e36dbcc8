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
fn log_f32(x: f32) -> f32 {
  // The limits on the bits: some drivers give a large negative number for log(0).
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) == 0u) { return -inf_f32(); }
  if (isnan_f32(x) || (b >> 31u) == 1u) { return nan_f32(); }
  if (b == 0x7f800000u) { return x; }
  return log(x);
}
// sin and cos with their own range reduction (three-part π/2, Cody–Waite) and minimax polynomials
// on [−π/4, π/4] (Cephes sinf/cosf): driver sin/cos may err by 2⁻¹¹ (Vulkan's bound; SwiftShader).
fn sincos_r(x: f32) -> vec2<f32> {
  let k = round(x * 0.63661977236758134);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  let z = r * r;
  let sn = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let cs = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  let q = i32(k - 4.0 * floor(k * 0.25));
  if (q == 0) { return vec2<f32>(sn, cs); }
  if (q == 1) { return vec2<f32>(cs, -sn); }
  if (q == 2) { return vec2<f32>(-sn, -cs); }
  return vec2<f32>(-cs, sn);
}
fn sin_f32(x: f32) -> f32 { if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { return nan_f32(); } return sincos_r(x).x; }
fn cos_f32(x: f32) -> f32 { if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { return nan_f32(); } return sincos_r(x).y; }
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
      return 'log_f32(x0)';
    case 'sqrt':
      return 'sqrt(x0)';
    case 'rsqrt':
      return '1.0 / sqrt(x0)';
    case 'square':
      return 'x0 * x0';
    case 'reciprocal':
      return '1.0 / x0';
    case 'sin':
      return 'sin_f32(x0)';
    case 'cos':
      return 'cos_f32(x0)';
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
