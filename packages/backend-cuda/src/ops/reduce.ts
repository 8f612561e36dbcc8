import { type LayerNormActivation, type ReduceOp, sizeOf, type TensorInfo } from '@sea/tensor';
import { broadcastStrides, reducePlan } from '@sea/tensor/backend';
import { type CudaBackend, dtypeCode, floatSuffix } from '../cuda_backend.js';
import { binary } from './elementwise.js';
import { transpose } from './layout.js';
import { coalesce } from './strides.js';

/** Steps per chunk of the chunked cumsum (×4 for lines of 64 chunks or more). */
const CUMSUM_CHUNK = 64;

const REDUCE: readonly ReduceOp[] = ['sum', 'mean', 'max', 'min', 'prod', 'argmax', 'argmin'];

/** Reduced axes in one contiguous run reduce in place as outer × len × inner; others move last first. */
export function reduce(b: CudaBackend, op: ReduceOp, x: TensorInfo, axes: readonly number[]): TensorInfo {
  const { outShape, len, outer, inner, permutation } = reducePlan(x.shape, axes);
  const odt = op === 'argmax' || op === 'argmin' ? 'int32' : x.dtype;
  const nOut = sizeOf(outShape);
  const out = b.output(outShape, odt, nOut);
  if (nOut === 0) return out;
  if (len === 0) {
    const v = op === 'prod' ? 1 : op === 'mean' ? Number.NaN : 0;
    if (odt === 'bool') b.memset(b.ptr(out), 1, v === 1 ? 1 : 0, nOut);
    else if (odt === 'int32') b.memset(b.ptr(out), 4, v === 1 ? 1 : 0, nOut);
    else b.memset(b.ptr(out), 4, new Uint32Array(new Float32Array([v]).buffer)[0], nOut);
    return out;
  }
  const tmp = permutation ? transpose(b, x, permutation) : null;
  const src = tmp ?? x;
  b.params
    .i32(0, REDUCE.indexOf(op))
    .i32(1, dtypeCode(x.dtype))
    .i32(2, dtypeCode(odt))
    .ptr(3, b.ptr(src))
    .ptr(4, b.ptr(out));
  if (inner === 1) {
    b.params.i64(5, outer).i64(6, len);
    b.launch(b.fn('reduce', 'reduce_rows'), [Math.ceil(outer / 8)], [256]);
  } else {
    b.params.i64(5, outer).i64(6, len).i64(7, inner);
    b.launch(b.fn('reduce', 'reduce_inner'), [b.blocks(outer * inner)], [256]);
  }
  if (tmp) b.free(tmp.dataId);
  return out;
}

/** Rows at least this long (or masked ones) go to softmax_block, up to BLOCK_ROW_MAX (shared memory). */
const BLOCK_ROW_MIN = 512;
const BLOCK_ROW_MAX = 12288;

function rowsKernel(
  b: CudaBackend,
  x: TensorInfo,
  logMode: number,
  mask: TensorInfo | null = null,
): TensorInfo {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const size = sizeOf(x.shape);
  const out = b.output(x.shape, x.dtype, size);
  if (size === 0 || n === 0) return out;
  const rows = size / n;
  if (n <= BLOCK_ROW_MAX && (n >= BLOCK_ROW_MIN || mask)) {
    const r = x.shape.length;
    const st = mask ? broadcastStrides(mask.shape, x.shape) : new Array<number>(r).fill(0);
    const plan = coalesce(x.shape.slice(0, -1), [st.slice(0, -1)]);
    b.params
      .ptr(0, b.ptr(x))
      .ptr(1, mask ? b.ptr(mask) : 0n)
      .ptr(2, b.ptr(out))
      .i64(3, rows)
      .i32(4, n)
      .i32(5, logMode)
      .i32(6, mask ? 1 : 0)
      .i64(7, st[r - 1] ?? 0)
      .idx(8, plan.shape, plan.strides);
    b.launch(
      b.fn('reduce', `softmax_block${floatSuffix('softmax', x.dtype)}`),
      [Math.min(rows, 1 << 20)],
      [256],
      n * 4,
    );
    return out;
  }
  if (mask) {
    const sum = binary(b, 'add', x, mask, x.shape);
    const o2 = rowsKernel(b, sum, logMode);
    b.free(sum.dataId);
    b.free(out.dataId);
    return o2;
  }
  b.params.ptr(0, b.ptr(x)).ptr(1, b.ptr(out)).i64(2, rows).i32(3, n).i32(4, logMode);
  b.launch(b.fn('reduce', `softmax_rows${floatSuffix('softmax', x.dtype)}`), [Math.ceil(rows / 8)], [256]);
  return out;
}

/** Softmax over the last axis; an additive mask (broadcast) is added first, fused into softmax_block. */
export function softmax(b: CudaBackend, x: TensorInfo, mask: TensorInfo | null): TensorInfo {
  return rowsKernel(b, x, 0, mask);
}

export function logSoftmax(b: CudaBackend, x: TensorInfo): TensorInfo {
  return rowsKernel(b, x, 1);
}

export function layerNorm(
  b: CudaBackend,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  eps: number,
  activation: LayerNormActivation = 'none',
): TensorInfo {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const size = sizeOf(x.shape);
  const out = b.output(x.shape, x.dtype, size);
  if (size === 0 || n === 0) return out;
  const rows = size / n;
  b.params
    .ptr(0, b.ptr(x))
    .ptr(1, b.ptr(gamma))
    .ptr(2, b.ptr(beta))
    .ptr(3, b.ptr(out))
    .i64(4, rows)
    .i32(5, n)
    .f32(6, eps)
    .i32(7, activation === 'gelu' ? 1 : 0);
  // rows of up to 128 read once into registers (layernorm_rows_r*; on the H200 rows of 64 took
  // 0.18 ms instead of 0.32 at [1,24,32768,64], rows of 256 were slower that way), longer rows re-read
  const per = [2, 4].find((p) => n <= 32 * p);
  b.launch(
    b.fn('reduce', `layernorm_rows${per ? `_r${per}` : ''}${floatSuffix('layerNorm', x.dtype)}`),
    [Math.ceil(rows / 8)],
    [256],
  );
  return out;
}

export function cumsum(
  b: CudaBackend,
  x: TensorInfo,
  axis: number,
  exclusive: boolean,
  reverse: boolean,
): TensorInfo {
  const size = sizeOf(x.shape);
  const out = b.output(x.shape, x.dtype, size);
  if (size === 0) return out;
  const len = x.shape[axis];
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const dt = dtypeCode(x.dtype);
  if (len >= 2 * CUMSUM_CHUNK) {
    // chunked: many short sequential walks instead of one per line
    const Lc = len >= 64 * CUMSUM_CHUNK ? 4 * CUMSUM_CHUNK : CUMSUM_CHUNK;
    const nC = Math.ceil(len / Lc);
    const parts = outer * nC * inner;
    const sums = b.alloc(parts * 8);
    b.params
      .i32(0, dt)
      .ptr(1, b.ptr(x))
      .ptr(2, sums.ptr)
      .i64(3, outer)
      .i64(4, len)
      .i64(5, inner)
      .i32(6, Lc)
      .i32(7, nC)
      .i32(8, reverse ? 1 : 0);
    b.launch(b.fn('reduce', 'cumsum_chunk_sums'), [b.blocks(parts)], [256]);
    b.params.ptr(0, sums.ptr).i64(1, outer).i64(2, inner).i32(3, nC);
    b.launch(b.fn('reduce', 'cumsum_chunk_scan'), [b.blocks(outer * inner, 128)], [128]);
    b.params
      .i32(0, dt)
      .ptr(1, b.ptr(x))
      .ptr(2, b.ptr(out))
      .ptr(3, sums.ptr)
      .i64(4, outer)
      .i64(5, len)
      .i64(6, inner)
      .i32(7, Lc)
      .i32(8, nC)
      .i32(9, exclusive ? 1 : 0)
      .i32(10, reverse ? 1 : 0);
    b.launch(b.fn('reduce', 'cumsum_chunk_apply'), [b.blocks(parts)], [256]);
    b.free(sums); // stream-ordered reuse
    return out;
  }
  b.params
    .i32(0, dt)
    .ptr(1, b.ptr(x))
    .ptr(2, b.ptr(out))
    .i64(3, outer)
    .i64(4, len)
    .i64(5, inner)
    .i32(6, exclusive ? 1 : 0)
    .i32(7, reverse ? 1 : 0);
  b.launch(b.fn('reduce', 'cumsum_lines'), [b.blocks(outer * inner, 128)], [128]);
  return out;
}
