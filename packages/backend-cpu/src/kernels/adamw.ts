import type { AdamWConstants, TensorInfo } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

const f = Math.fround;

/**
 * The fused AdamW update of a float32 parameter (Backend.adamw): each operation rounded to float32
 * in the order the composed ops take, so the result equals theirs bit for bit.
 */
export function adamw(
  b: CpuBackend,
  p: TensorInfo,
  g: TensorInfo,
  m: TensorInfo | null,
  v: TensorInfo | null,
  c: AdamWConstants,
): [TensorInfo, TensorInfo, TensorInfo] | null {
  if (p.dtype !== 'float32') return null;
  const pv = b.values(p);
  const gv = b.values(g);
  const mv = m ? b.values(m) : null;
  const vv = v ? b.values(v) : null;
  const n = pv.length;
  const po = new Float32Array(n);
  const mo = new Float32Array(n);
  const vo = new Float32Array(n);
  const scale = c.gradScale !== 1;
  const decay = c.decay !== 1;
  for (let i = 0; i < n; i++) {
    const gi = scale ? f(gv[i] * c.gradScale) : gv[i];
    const m1 = f(f((mv ? mv[i] : 0) * c.beta1) + f(gi * c.oneMinusBeta1));
    const v1 = f(f((vv ? vv[i] : 0) * c.beta2) + f(f(gi * gi) * c.oneMinusBeta2));
    const dec = decay ? f(pv[i] * c.decay) : pv[i];
    const den = f(f(f(Math.sqrt(v1)) / c.sqrtBc2) + c.eps);
    po[i] = f(dec - f(f(m1 * c.stepSize) / den));
    mo[i] = m1;
    vo[i] = v1;
  }
  return [b.out(po, p.shape, 'float32'), b.out(mo, p.shape, 'float32'), b.out(vo, p.shape, 'float32')];
}
