/**
 * CSR SDDMM: val[b,z] = scale · q[b,h,t]·k[b,h,j] for entry z of row t, column h·Tk + j.
 * One thread per entry; its row comes from a binary search over crow. Tails are zero.
 */
import type { CsrInfo, TensorInfo } from '@sea/tensor';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 128;

export function csrSddmm(
  b: WebGpuBackend,
  csr: CsrInfo,
  q: TensorInfo,
  k: TensorInfo,
  scale: number,
): TensorInfo {
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const Z = csr.col.shape[1];
  const out = b.alloc(B * Z, q.dtype);
  b.clear(out);
  if (B * Z === 0) return b.out(out, [B, Z], q.dtype);
  b.run({
    name: 'csrSddmm',
    body: `${main(WG)}
  let i = wg * ${WG}u + lid;
  let Z = pu(0u); let Tq = pu(1u); let H = pu(2u); let Tk = pu(3u); let D = pu(4u);
  if (i >= pu(6u) * Z) { return; }
  let bi = i / Z; let z = i - bi * Z;
  let rb = bi * (Tq + 1u);
  if (z >= u32(cr_ld(rb + Tq))) { return; }
  // Last row t with crow[t] <= z.
  var lo = 0u; var hi = Tq;
  while (hi - lo > 1u) { let mid = (lo + hi) / 2u; if (u32(cr_ld(rb + mid)) <= z) { lo = mid; } else { hi = mid; } }
  let t = lo;
  let c = u32(cl_ld(i)); let h = c / Tk; let j = c - h * Tk;
  let qb = ((bi * H + h) * Tq + t) * D; let kb = ((bi * H + h) * Tk + j) * D;
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s = fma(q_ld(qb + d), k_ld(kb + d), s); }
  y_st(i, s * pf(5u));
}`,
    inputs: [
      { name: 'cr', data: b.data(csr.crow) },
      { name: 'cl', data: b.data(csr.col) },
      { name: 'q', data: b.data(q) },
      { name: 'k', data: b.data(k) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(Z), u(Tq), u(H), u(Tk), u(D), f(scale), u(B)],
    grid: b.grid(Math.ceil((B * Z) / WG)),
  });
  return b.out(out, [B, Z], q.dtype);
}
