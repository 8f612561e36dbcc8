/**
 * Causal linear attention by prefix sums (spec §3): out_t = φq_t·S_t / (φq_t·(z_t + eps)).
 * One workgroup per (b·h, 4 value columns). Each of its 64 threads owns features m = lid + 64r and
 * keeps their running S[m, e..e+3] and z[m] in registers while walking t; every block of TB rows
 * the per-thread partial dot products go through workgroup memory and TB threads finish the sums.
 */
import type { TensorInfo } from '@sea/tensor';
import type { PrefixSumOptions } from '@sea/tensor/backend';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 64;
const TB = 8;

export function performerPrefixSum(
  b: WebGpuBackend,
  qf: TensorInfo,
  kf: TensorInfo,
  v: TensorInfo,
  opts: PrefixSumOptions,
): TensorInfo {
  const [B, H, T, M] = qf.shape;
  const E = v.shape[3];
  const out = b.alloc(B * H * T * E, 'float32');
  const tiles = Math.ceil(E / 4);
  const R = Math.max(1, Math.ceil(M / WG));
  const body = `var<workgroup> sn: array<vec4<f32>, ${TB * WG}>;
var<workgroup> sd: array<f32, ${TB * WG}>;
${main(WG)}
  let T = pu(1u); let M = pu(2u); let E = pu(3u); let eps = pf(4u); let tiles = pu(5u);
  if (wg >= pu(0u) * tiles) { return; }
  let bh = wg / tiles; let e0 = (wg - bh * tiles) * 4u;
  var S: array<vec4<f32>, ${R}>;
  var z: array<f32, ${R}>;
  for (var r = 0u; r < ${R}u; r++) { S[r] = vec4<f32>(0.0); z[r] = 0.0; }
  for (var t0 = 0u; t0 < T; t0 += ${TB}u) {
    for (var tt = 0u; tt < ${TB}u; tt++) {
      let t = t0 + tt;
      var pn = vec4<f32>(0.0);
      var pd = 0.0;
      if (t < T) {
        let vb = (bh * T + t) * E + e0;
        var v4 = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { v4[q] = v_ld(vb + q); } }
        let fb = (bh * T + t) * M;
        for (var r = 0u; r < ${R}u; r++) {
          let m = lid + r * ${WG}u;
          if (m < M) {
            let kv = kf_ld(fb + m);
            S[r] = fma(vec4<f32>(kv), v4, S[r]);
            z[r] += kv;
            let qv = qf_ld(fb + m);
            pn = fma(vec4<f32>(qv), S[r], pn);
            pd = fma(qv, z[r] + eps, pd);
          }
        }
      }
      sn[tt * ${WG}u + lid] = pn;
      sd[tt * ${WG}u + lid] = pd;
    }
    workgroupBarrier();
    if (lid < ${TB}u) {
      let t = t0 + lid;
      if (t < T) {
        var n = vec4<f32>(0.0);
        var d = 0.0;
        for (var j = 0u; j < ${WG}u; j++) { n += sn[lid * ${WG}u + j]; d += sd[lid * ${WG}u + j]; }
        let ob = (bh * T + t) * E + e0;
        for (var q = 0u; q < 4u; q++) { if (e0 + q < E) { y_st(ob + q, n[q] / d); } }
      }
    }
    workgroupBarrier();
  }
}`;
  b.run({
    name: 'performerPrefixSum',
    body,
    inputs: [
      { name: 'qf', data: b.data(qf) },
      { name: 'kf', data: b.data(kf) },
      { name: 'v', data: b.data(v) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(B * H), u(T), u(M), u(E), f(opts.eps), u(tiles)],
    grid: b.grid(B * H * tiles),
  });
  return b.out(out, [B, H, T, E], 'float32');
}
