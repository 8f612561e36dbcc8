import {
  bytesPerElement,
  DeviceError,
  DTypeError,
  type MatmulOptions,
  type Shape,
  sizeOf,
  type TensorInfo,
} from '@sea/tensor';
import type { CudaBackend } from '../cuda_backend.js';
import { coalesce } from './strides.js';

const OP_N = 0;
const OP_T = 1;
const R_32F = 0;
const R_16F = 2;
const R_16BF = 14;
const COMPUTE_32F = 68;

/**
 * cudaDataType of a float dtype. 16-bit operands run on the tensor cores with float32 accumulation
 * (CUBLAS_COMPUTE_32F); float32 stays plain SGEMM (no TF32).
 */
export function cudaDataType(op: string, dtype: string): number {
  if (dtype === 'float32') return R_32F;
  if (dtype === 'bfloat16') return R_16BF;
  if (dtype === 'float16') return R_16F;
  throw new DTypeError(`cuda ${op} computes in float32, bfloat16 or float16, got ${dtype}`);
}
const ALGO_DEFAULT = -1;

/** Batch strides (in matrices) of an operand's batch dims broadcast to `batch`; 0 where broadcast. */
function batchStrides(shape: Shape, batch: Shape): number[] {
  const own = shape.slice(0, -2);
  const out = new Array<number>(batch.length).fill(0);
  let s = 1;
  for (let i = own.length - 1; i >= 0; i--) {
    const o = batch.length - own.length + i;
    out[o] = own[i] === 1 ? 0 : s;
    s *= own[i];
  }
  return out;
}

/**
 * Row-major C = op(A)·op(B) through cuBLAS (column-major): C^T = op(B)^T·op(A)^T, so B goes first.
 * fp32 in, fp32 compute (no TF32). The last non-mergeable batch axis is one strided-batched call;
 * any outer broadcast batch axes loop on the host.
 */
export function matmul(
  b: CudaBackend,
  a: TensorInfo,
  bt: TensorInfo,
  opts: MatmulOptions,
  outShape: Shape,
): TensorInfo {
  const rt = cudaDataType('matmul', a.dtype);
  const es = bytesPerElement(a.dtype);
  const r = outShape.length;
  const M = outShape[r - 2];
  const N = outShape[r - 1];
  const K = opts.transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const out = b.output(outShape, a.dtype);
  if (M === 0 || N === 0 || sizeOf(outShape) === 0) return out;
  if (K === 0) {
    b.memsetZero(out);
    return out;
  }
  const batch = outShape.slice(0, -2);
  const plan = coalesce(batch, [
    batchStrides(a.shape, batch),
    batchStrides(bt.shape, batch),
    batchStrides(outShape, batch),
  ]);
  const last = plan.shape.length - 1;
  const count = plan.shape[last];
  const outerShape = plan.shape.slice(0, last);
  const outerCount = sizeOf(outerShape);
  const { api, handle } = b.cublas();
  const lda = opts.transA ? M : K;
  const ldb = opts.transB ? K : N;
  const idx = new Array<number>(outerShape.length).fill(0);
  for (let o = 0; o < outerCount; o++) {
    let ao = 0;
    let bo = 0;
    let co = 0;
    for (let d = 0; d < outerShape.length; d++) {
      ao += idx[d] * plan.strides[0][d];
      bo += idx[d] * plan.strides[1][d];
      co += idx[d] * plan.strides[2][d];
    }
    const rc = api.cublasGemmStridedBatchedEx(
      handle,
      opts.transB ? OP_T : OP_N,
      opts.transA ? OP_T : OP_N,
      N,
      M,
      K,
      b.one,
      b.ptr(bt) + BigInt(bo * K * N * es),
      rt,
      ldb,
      plan.strides[1][last] * K * N,
      b.ptr(a) + BigInt(ao * M * K * es),
      rt,
      lda,
      plan.strides[0][last] * M * K,
      b.zero,
      b.ptr(out) + BigInt(co * M * N * es),
      rt,
      N,
      plan.strides[2][last] * M * N,
      count,
      COMPUTE_32F,
      ALGO_DEFAULT,
    );
    if (rc !== 0) {
      b.free(out.dataId);
      throw new DeviceError(`cublasGemmStridedBatchedEx failed: ${api.cublasGetStatusString(rc)} (${rc})`);
    }
    for (let d = outerShape.length - 1; d >= 0; d--) {
      if (++idx[d] < outerShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}
