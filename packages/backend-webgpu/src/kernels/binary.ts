/** Elementwise binary ops with NumPy broadcasting; comparisons and and/or give bool. */
import type { BinaryOp, TensorInfo } from '@sea/tensor';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { elementwise } from './elementwise.js';

/** pow with the real-number conventions of Math.pow (WGSL's pow is undefined for x < 0). */
const POW_WGSL = `
fn pow_f32(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, inf_f32(), y < 0.0); }
  if (x < 0.0) {
    if (floor(y) != y) { return nan_f32(); }
    let m = pow(-x, y);
    return select(m, -m, (abs(y) % 2.0) == 1.0);
  }
  return pow(x, y);
}
`;

const CMP: Partial<Record<BinaryOp, string>> = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

function expr(op: BinaryOp, type: 'float32' | 'int32' | 'bool'): string {
  const cmp = CMP[op];
  if (cmp) return `select(0u, 1u, x0 ${cmp} x1)`;
  if (op === 'and') return 'select(0u, 1u, x0 != 0u && x1 != 0u)';
  if (op === 'or') return 'select(0u, 1u, x0 != 0u || x1 != 0u)';
  if (type === 'int32') {
    switch (op) {
      case 'add':
        return 'x0 + x1';
      case 'sub':
        return 'x0 - x1';
      case 'mul':
        return 'x0 * x1';
      case 'div':
        // Truncating division; x/0 stores 0 (as a float quotient stored through Int32Array would).
        return 'select(x0 / x1, 0i, x1 == 0i)';
      case 'max':
        return 'max(x0, x1)';
      case 'min':
        return 'min(x0, x1)';
      case 'pow':
        return 'i32(pow_f32(f32(x0), f32(x1)))';
    }
  }
  switch (op) {
    case 'add':
      return 'x0 + x1';
    case 'sub':
      return 'x0 - x1';
    case 'mul':
      return 'x0 * x1';
    case 'div':
      return 'x0 / x1';
    case 'max':
      return 'select(x1, x0, x0 > x1 || x0 != x0)';
    case 'min':
      return 'select(x1, x0, x0 < x1 || x0 != x0)';
    case 'pow':
      return 'pow_f32(x0, x1)';
  }
  throw new Error(`binary ${op}`);
}

export function binary(
  b: WebGpuBackend,
  op: BinaryOp,
  a: TensorInfo,
  c: TensorInfo,
  outShape: readonly number[],
): TensorInfo {
  const isBool = CMP[op] !== undefined || op === 'and' || op === 'or';
  const outDtype = isBool ? 'bool' : a.dtype;
  const out = elementwise(
    b,
    `binary_${op}`,
    [
      { data: b.data(a), shape: a.shape },
      { data: b.data(c), shape: c.shape },
    ],
    outShape,
    outDtype,
    expr(op, a.dtype === 'int32' || a.dtype === 'bool' ? a.dtype : 'float32'),
    POW_WGSL,
    op !== 'pow',
  );
  return b.out(out, outShape, outDtype);
}
