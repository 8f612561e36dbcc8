import type { AdamWConstants, TensorInfo } from '@sea/tensor';
import type { CudaBackend } from '../cuda_backend.js';

/** The fused AdamW update (Backend.adamw): one launch per parameter, float32 only. */
export function adamw(
  b: CudaBackend,
  p: TensorInfo,
  g: TensorInfo,
  m: TensorInfo | null,
  v: TensorInfo | null,
  c: AdamWConstants,
): [TensorInfo, TensorInfo, TensorInfo] | null {
  if (!b.fusedAdamW || p.dtype !== 'float32' || g.dtype !== 'float32') return null;
  const n = p.shape.reduce((a, d) => a * d, 1);
  const po = b.output(p.shape, 'float32', n);
  const mo = b.output(p.shape, 'float32', n);
  const vo = b.output(p.shape, 'float32', n);
  if (n === 0) return [po, mo, vo];
  b.params
    .ptr(0, b.ptr(p))
    .ptr(1, b.ptr(g))
    .ptr(2, m ? b.ptr(m) : 0n)
    .ptr(3, v ? b.ptr(v) : 0n)
    .ptr(4, b.ptr(po))
    .ptr(5, b.ptr(mo))
    .ptr(6, b.ptr(vo))
    .i64(7, n)
    .f32(8, c.gradScale)
    .f32(9, c.beta1)
    .f32(10, c.oneMinusBeta1)
    .f32(11, c.beta2)
    .f32(12, c.oneMinusBeta2)
    .f32(13, c.decay)
    .f32(14, c.sqrtBc2)
    .f32(15, c.eps)
    .f32(16, c.stepSize)
    .i32(17, c.gradScale !== 1 ? 1 : 0)
    .i32(18, c.decay !== 1 ? 1 : 0);
  b.launch(b.fn('elementwise', 'adamw_f32'), [b.blocks(n)], [256]);
  return [po, mo, vo];
}
