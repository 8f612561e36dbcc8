import {
  type BinaryOp,
  bytesPerElement,
  type DType,
  type Shape,
  sizeOf,
  type TensorInfo,
  type UnaryOp,
} from '@sea/tensor';
import { broadcastStrides, stridesOf } from '@sea/tensor/backend';
import { type CudaBackend, dtypeCode } from '../cuda_backend.js';
import { coalesce } from './strides.js';

const UNARY: readonly UnaryOp[] = [
  'neg',
  'abs',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'gelu_tanh',
  'erf',
  'floor',
  'ceil',
  'round',
  'sign',
  'not',
];
const BINARY: readonly BinaryOp[] = [
  'add',
  'sub',
  'mul',
  'div',
  'max',
  'min',
  'pow',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'and',
  'or',
];
const COMPARE = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'and', 'or']);

export function unary(b: CudaBackend, op: UnaryOp, x: TensorInfo): TensorInfo {
  const n = sizeOf(x.shape);
  const out = b.output(x.shape, x.dtype, n);
  if (n === 0) return out;
  if (x.dtype === 'float32' && n % 4 === 0 && op !== 'not') {
    b.params
      .i32(0, UNARY.indexOf(op))
      .ptr(1, b.ptr(x))
      .ptr(2, b.ptr(out))
      .i64(3, n / 4);
    b.launch(b.fn('elementwise', 'ew_unary_f4'), [b.blocks(n / 4)], [256]);
    return out;
  }
  if ((x.dtype === 'bfloat16' || x.dtype === 'float16') && n % 2 === 0) {
    b.params
      .i32(0, UNARY.indexOf(op))
      .i32(1, dtypeCode(x.dtype))
      .ptr(2, b.ptr(x))
      .ptr(3, b.ptr(out))
      .i64(4, n / 2);
    b.launch(b.fn('elementwise', 'ew_unary_h2'), [b.blocks(n / 2)], [256]);
    return out;
  }
  b.params.i32(0, UNARY.indexOf(op)).i32(1, dtypeCode(x.dtype)).ptr(2, b.ptr(x)).ptr(3, b.ptr(out)).i64(4, n);
  b.launch(b.fn('elementwise', 'ew_unary'), [b.blocks(n)], [256]);
  return out;
}

export function binary(
  b: CudaBackend,
  op: BinaryOp,
  a: TensorInfo,
  bt: TensorInfo,
  outShape: Shape,
): TensorInfo {
  const odt: DType = COMPARE.has(op) ? 'bool' : a.dtype;
  const n = sizeOf(outShape);
  const out = b.output(outShape, odt, n);
  if (n === 0) return out;
  const plan = coalesce(outShape, [
    broadcastStrides(a.shape, outShape),
    broadcastStrides(bt.shape, outShape),
  ]);
  const r = plan.shape.length - 1;
  const vec = (k: number, ptr: bigint): number | null => {
    const st = plan.strides[k];
    if (st[r] === 0) return 0;
    if (st[r] === 1 && ptr % 16n === 0n && st.every((x, i) => i === r || x % 4 === 0)) return 1;
    return null;
  };
  if (a.dtype === 'float32' && odt === 'float32' && plan.shape[r] % 4 === 0) {
    const av = vec(0, b.ptr(a));
    const bv = vec(1, b.ptr(bt));
    if (av !== null && bv !== null) {
      // 4 outputs per thread, float4 loads where an operand runs along the innermost axis
      b.params
        .i32(0, BINARY.indexOf(op))
        .ptr(1, b.ptr(a))
        .ptr(2, b.ptr(bt))
        .ptr(3, b.ptr(out))
        .i64(4, n / 4)
        .idx(5, plan.shape, plan.strides)
        .i32(6, av)
        .i32(7, bv);
      b.launch(b.fn('elementwise', 'ew_binary_f4'), [b.blocks(n / 4)], [256]);
      return out;
    }
  }
  if ((a.dtype === 'bfloat16' || a.dtype === 'float16') && odt === a.dtype && plan.shape[r] % 4 === 0) {
    // 4 outputs per thread, 8-byte loads where an operand runs along the innermost axis
    const vec2 = (k: number, ptr: bigint): number | null => {
      const st = plan.strides[k];
      if (st[r] === 0) return 0;
      if (st[r] === 1 && ptr % 8n === 0n && st.every((x, i) => i === r || x % 4 === 0)) return 1;
      return null;
    };
    const av = vec2(0, b.ptr(a));
    const bv = vec2(1, b.ptr(bt));
    if (av !== null && bv !== null) {
      b.params
        .i32(0, BINARY.indexOf(op))
        .i32(1, dtypeCode(a.dtype))
        .ptr(2, b.ptr(a))
        .ptr(3, b.ptr(bt))
        .ptr(4, b.ptr(out))
        .i64(5, n / 4)
        .idx(6, plan.shape, plan.strides)
        .i32(7, av)
        .i32(8, bv);
      b.launch(b.fn('elementwise', 'ew_binary_h4'), [b.blocks(n / 4)], [256]);
      return out;
    }
  }
  b.params
    .i32(0, BINARY.indexOf(op))
    .i32(1, dtypeCode(a.dtype))
    .i32(2, dtypeCode(odt))
    .ptr(3, b.ptr(a))
    .ptr(4, b.ptr(bt))
    .ptr(5, b.ptr(out))
    .i64(6, n)
    .idx(7, plan.shape, plan.strides);
  b.launch(b.fn('elementwise', 'ew_binary'), [b.blocks(n)], [256]);
  return out;
}

export function where(
  b: CudaBackend,
  cond: TensorInfo,
  a: TensorInfo,
  bt: TensorInfo,
  outShape: Shape,
): TensorInfo {
  const n = sizeOf(outShape);
  const out = b.output(outShape, a.dtype, n);
  if (n === 0) return out;
  const plan = coalesce(outShape, [
    broadcastStrides(cond.shape, outShape),
    broadcastStrides(a.shape, outShape),
    broadcastStrides(bt.shape, outShape),
  ]);
  b.params
    .i32(0, bytesPerElement(a.dtype))
    .ptr(1, b.ptr(cond))
    .ptr(2, b.ptr(a))
    .ptr(3, b.ptr(bt))
    .ptr(4, b.ptr(out))
    .i64(5, n)
    .idx(6, plan.shape, plan.strides);
  b.launch(b.fn('elementwise', 'ew_where'), [b.blocks(n)], [256]);
  return out;
}

export function cast(b: CudaBackend, x: TensorInfo, dtype: DType): TensorInfo {
  const n = sizeOf(x.shape);
  const out = b.output(x.shape, dtype, n);
  if (n === 0) return out;
  if (dtype === x.dtype) {
    b.copyDtoD(b.ptr(out), b.ptr(x), b.buf(x).bytes);
    return out;
  }
  b.params.i32(0, dtypeCode(x.dtype)).i32(1, dtypeCode(dtype)).ptr(2, b.ptr(x)).ptr(3, b.ptr(out)).i64(4, n);
  b.launch(b.fn('elementwise', 'ew_cast'), [b.blocks(n)], [256]);
  return out;
}

/** y[i] = start + i·step (the kernel computes in double and stores once in `dtype`). */
export function range(
  b: CudaBackend,
  size: number,
  start: number,
  step: number,
  dtype: DType,
): TensorInfo & { shape: [number] } {
  const out = b.output([size], dtype, size) as TensorInfo & { shape: [number] };
  if (size === 0) return out;
  // doubles go in as their two little-endian 32-bit words
  const words = (v: number) => Array.from(new Int32Array(new Float64Array([v]).buffer));
  b.params
    .i32(0, dtypeCode(dtype))
    .ptr(1, b.ptr(out))
    .i64(2, size)
    .ints(3, words(start))
    .ints(4, words(step));
  b.launch(b.fn('elementwise', 'ew_range'), [b.blocks(size)], [256]);
  return out;
}

/**
 * dst[dstOff + i·dstStrides] = src[srcOff + i·srcStrides] over the index space `shape` (elements).
 * The shared engine of transpose, slice, pad and concat.
 */
export function copyStrided(
  b: CudaBackend,
  dtype: DType,
  src: bigint,
  dst: bigint,
  shape: Shape,
  srcStrides: number[],
  dstStrides: number[],
  srcOff: number,
  dstOff: number,
): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const plan = coalesce(shape, [srcStrides, dstStrides]);
  const r = plan.shape.length - 1;
  // elements per 16-byte vector: 4 of float32/int32, 8 of float16/bfloat16
  const es = bytesPerElement(dtype);
  const v = es === 4 || es === 2 ? 16 / es : 0;
  if (
    v > 0 &&
    plan.strides[0][r] === 1 &&
    plan.strides[1][r] === 1 &&
    plan.shape[r] % v === 0 &&
    srcOff % v === 0 &&
    dstOff % v === 0 &&
    src % 16n === 0n &&
    dst % 16n === 0n &&
    plan.strides.every((st) => st.every((x, i) => i === r || x % v === 0))
  ) {
    // whole 16-byte vectors: the innermost axis is contiguous on both sides and everything is aligned
    const shapeV = plan.shape.map((d, i) => (i === r ? d / v : d));
    const stridesV = plan.strides.map((st) => st.map((x, i) => (i === r ? 1 : x / v)));
    b.params
      .ptr(0, src)
      .ptr(1, dst)
      .i64(2, n / v)
      .i64(3, srcOff / v)
      .i64(4, dstOff / v)
      .idx(5, shapeV, stridesV);
    b.launch(b.fn('elementwise', 'copy_strided16'), [b.blocks(n / v)], [256]);
    return;
  }
  b.params
    .i32(0, bytesPerElement(dtype))
    .ptr(1, src)
    .ptr(2, dst)
    .i64(3, n)
    .i64(4, srcOff)
    .i64(5, dstOff)
    .idx(6, plan.shape, plan.strides);
  b.launch(b.fn('elementwise', 'copy_strided'), [b.blocks(n)], [256]);
}

export { stridesOf };
