/**
 * Per-row, per-head softmax of CSR values, times rowScale [B, H, Tq] when given. One thread per
 * (b, t, h): a binary search finds the head's contiguous run of entries in the row.
 */
import type { CsrInfo, TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { LOWER_BOUND_WGSL } from './csr_common.js';

const WG = 128;

export function csrSoftmax(
  b: WebGpuBackend,
  csr: CsrInfo,
  val: TensorInfo,
  rowScale: TensorInfo | null,
): TensorInfo {
  const [B, Z] = val.shape;
  const Tq = csr.crow.shape[1] - 1;
  const H = csr.heads;
  const out = b.alloc(B * Z, val.dtype);
  b.clear(out);
  const n = B * Tq * H;
  if (n === 0 || Z === 0) return b.out(out, [B, Z], val.dtype);
  b.run({
    name: 'csrSoftmax',
    body: `${LOWER_BOUND_WGSL}
${main(WG)}
  let i = wg * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let Tq = pu(1u); let H = pu(2u); let Tk = pu(3u); let Z = pu(4u);
  let h = i % H; let bt = i / H; let t = bt % Tq; let bi = bt / Tq;
  let rb = bi * (Tq + 1u) + t;
  let r0 = bi * Z + u32(cr_ld(rb)); let r1 = bi * Z + u32(cr_ld(rb + 1u));
  let lo = lower_bound(r0, r1, i32(h * Tk));
  let hi = lower_bound(lo, r1, i32((h + 1u) * Tk));
  if (lo == hi) { return; }
  var mx = v_ld(lo);
  for (var z = lo + 1u; z < hi; z++) { mx = max(mx, v_ld(z)); }
  var s = 0.0;
  for (var z = lo; z < hi; z++) { s += exp(v_ld(z) - mx); }
  let scale = ${rowScale ? 'rs_ld((bi * H + h) * Tq + t)' : '1.0'} / s;
  for (var z = lo; z < hi; z++) { y_st(z, exp(v_ld(z) - mx) * scale); }
}`,
    inputs: [
      { name: 'cr', data: b.data(csr.crow) },
      { name: 'cl', data: b.data(csr.col) },
      { name: 'v', data: b.data(val) },
      ...(rowScale ? [{ name: 'rs', data: b.data(rowScale) }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(Tq), u(H), u(csr.keys), u(Z)],
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, [B, Z], val.dtype);
}
