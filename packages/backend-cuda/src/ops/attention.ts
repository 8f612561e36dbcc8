import type { TensorInfo } from '@sea/tensor';
import type { AttentionOptions } from '@sea/tensor/backend';
import { type CudaBackend, floatSuffix } from '../cuda_backend.js';

/** Query rows per block of attention_fwd (kernels/attention.cu); its head size limit. */
const ROWS = 64;
const MAX_HEAD = 64;

/**
 * Fused fp32 attention (kernels/attention.cu): one kernel, online softmax over key tiles, causal tiles
 * past the diagonal skipped. Returns null (the op layer composes matmul + softmax) for head sizes the
 * kernel lacks: D > 64, D % 4 ≠ 0, or V's head size ≠ D. Both layouts ([B,H,T,D] and [B,T,H,D]).
 */
export function attention(
  b: CudaBackend,
  q: TensorInfo,
  k: TensorInfo,
  v: TensorInfo,
  keyValid: TensorInfo | null,
  opts: AttentionOptions,
): TensorInfo | null {
  const bthd = opts.layout === 'bthd';
  const [B, H, Tq, D] = bthd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape;
  const Tk = k.shape[bthd ? 1 : 2];
  const blocks = Math.ceil(Tq / ROWS);
  if (
    !['float32', 'bfloat16', 'float16'].includes(q.dtype) ||
    D > MAX_HEAD ||
    D % 4 !== 0 ||
    v.shape[3] !== D ||
    blocks > 65535
  )
    return null;
  const out = b.output(bthd ? [B, Tq, H, D] : [B, H, Tq, D], q.dtype);
  if (B * H * Tq * D === 0) return out;
  b.params
    .ptr(0, b.ptr(q))
    .ptr(1, b.ptr(k))
    .ptr(2, b.ptr(v))
    .ptr(3, keyValid ? b.ptr(keyValid) : 0n)
    .ptr(4, b.ptr(out))
    .i32(5, H)
    .i32(6, Tq)
    .i32(7, Tk)
    .i32(8, D)
    .f32(9, opts.scale * Math.LOG2E)
    .i32(10, opts.causal ? 1 : 0)
    .i32(11, keyValid ? 1 : 0)
    .i32(12, bthd ? 1 : 0);
  b.launch(b.fn('attention', `attention_fwd${floatSuffix('attention', q.dtype)}`), [B * H, blocks], [256]);
  return out;
}
