import type { TensorInfo } from '@sea/tensor';
import type { AttentionOptions } from '@sea/tensor/backend';
import { type CudaBackend, floatSuffix } from '../cuda_backend.js';

/** Query rows per block of the attention kernels (kernels/attention.cu); their head size limit. */
const ROWS = 64;
const MAX_HEAD = 64;
/** Keys per tile; a split's key range is a multiple of it. */
const TILE = 64;

/**
 * Fused attention (kernels/attention.cu): one kernel, online softmax over key tiles, causal tiles past
 * the diagonal skipped. 16-bit q/k/v run on the tensor cores (mma.sync, fp32 accumulation; sm 8.0+, D
 * even); float32 and other 16-bit head sizes on the CUDA cores in fp32. When the query blocks cannot
 * fill the GPU (decoding: one query row over a long cache) the keys are split over blocks and a second
 * kernel merges the partial softmaxes. Returns null (the op layer composes matmul + softmax) for head
 * sizes no kernel has: D > 64, D % 4 ≠ 0 (D odd for the tensor-core kernel), or V's head size ≠ D.
 * Both layouts ([B,H,T,D] and [B,T,H,D]).
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
  const half = q.dtype === 'bfloat16' || q.dtype === 'float16';
  const mma = half && D % 2 === 0 && Number(b.device.computeCapability.split('.')[0]) >= 8;
  if (
    !['float32', 'bfloat16', 'float16'].includes(q.dtype) ||
    D > MAX_HEAD ||
    (D % 4 !== 0 && !mma) ||
    v.shape[3] !== D ||
    blocks > 65535
  )
    return null;
  const out = b.output(bthd ? [B, Tq, H, D] : [B, H, Tq, D], q.dtype);
  if (B * H * Tq * D === 0) return out;
  // split the keys when the query blocks fill less than two waves of the GPU's multiprocessors
  const bh = B * H;
  const want = 2 * b.device.multiprocessors;
  let nsplit = 1;
  let chunk = Math.ceil(Tk / TILE) * TILE;
  if (bh * blocks < want && Tk >= 4 * TILE) {
    nsplit = Math.min(Math.ceil(want / (bh * blocks)), Math.ceil(Tk / (4 * TILE)), 65535);
    chunk = Math.ceil(Tk / nsplit / TILE) * TILE;
    nsplit = Math.ceil(Tk / chunk);
  }
  const part = nsplit > 1 ? b.alloc(nsplit * bh * Tq * (MAX_HEAD + 2) * 4) : null;
  try {
    b.params
      .ptr(0, b.ptr(q))
      .ptr(1, b.ptr(k))
      .ptr(2, b.ptr(v))
      .ptr(3, keyValid ? b.ptr(keyValid) : 0n)
      .ptr(4, b.ptr(out))
      .ptr(5, part ? part.ptr : 0n)
      .i32(6, H)
      .i32(7, Tq)
      .i32(8, Tk)
      .i32(9, D)
      .f32(10, opts.scale * Math.LOG2E)
      .i32(11, opts.causal ? 1 : 0)
      .i32(12, keyValid ? 1 : 0)
      .i32(13, bthd ? 1 : 0)
      .i32(14, chunk);
    if (mma)
      b.launch(
        b.fn('attention', `attention_mma${floatSuffix('attention', q.dtype)}`),
        [bh, blocks, nsplit],
        [128],
      );
    else
      b.launch(
        b.fn('attention', `attention_fwd${floatSuffix('attention', q.dtype)}`),
        [bh, blocks, nsplit],
        [256],
      );
    if (part) {
      const n = bh * Tq * D;
      b.params
        .ptr(0, part.ptr)
        .ptr(1, b.ptr(out))
        .i32(2, bh)
        .i32(3, H)
        .i32(4, Tq)
        .i32(5, D)
        .i32(6, nsplit)
        .i32(7, bthd ? 1 : 0);
      b.launch(
        b.fn('attention', `attention_combine${floatSuffix('attention', q.dtype)}`),
        [b.blocks(n)],
        [256],
      );
    }
  } catch (e) {
    b.free(out.dataId);
    throw e;
  } finally {
    if (part) b.free(part); // stream-ordered: reused only by later work on the stream
  }
  return out;
}
