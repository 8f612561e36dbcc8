/**
 * The workgroup-memory matmul for aligned shapes (every contiguous dimension a multiple of 4):
 * global loads are vec4 along each operand's contiguous dimension, the next K-slab is prefetched
 * into registers while the current one is multiplied out of workgroup memory, and C is stored as
 * vec4. Tile shape and register blocking are those of `tiledMatmulBody` (see matmul_tiled.ts).
 */
import { batchOffsetsWgsl } from './matmul_batch.js';
import type { TileConfig } from './matmul_tiled.js';

export function tiledVec4MatmulBody(
  cfg: TileConfig,
  transA: boolean,
  transB: boolean,
  batchRank: number,
  at: number,
): string {
  const { bm, bn, bk, tm, tn } = cfg;
  const tx = bn / tn;
  const ty = bm / tm;
  const threads = tx * ty;
  const gm = tm / 4;
  const gn = tn / 4;
  const la = (bm * bk) / 4 / threads;
  const lb = (bn * bk) / 4 / threads;
  // Load vec4 number e of the A/B slab at k0 into register ra{l}/rb{l} (zero outside the matrix).
  const loadA = (l: number) =>
    transA
      ? `{ let e = lid + ${l * threads}u; let kk = e / (BM / 4u); let mq = e % (BM / 4u);
      let gk = k0 + kk; let gm = m0 + mq * 4u;
      ra${l} = vec4<f32>(0.0); if (gk < K && gm < M) { ra${l} = a_ld4((aoff + gk * M + gm) / 4u); } }`
      : `{ let e = lid + ${l * threads}u; let mm = e / (BK / 4u); let kq = e % (BK / 4u);
      let gk = k0 + kq * 4u; let gm = m0 + mm;
      ra${l} = vec4<f32>(0.0); if (gk < K && gm < M) { ra${l} = a_ld4((aoff + gm * K + gk) / 4u); } }`;
  const storeA = (l: number) =>
    transA
      ? `{ let e = lid + ${l * threads}u; As[e] = ra${l}; }`
      : `{ let e = lid + ${l * threads}u; let mm = e / (BK / 4u); let kq = e % (BK / 4u);
      for (var c = 0u; c < 4u; c++) { As[((kq * 4u + c) * BM + mm) / 4u][mm % 4u] = ra${l}[c]; } }`;
  const loadB = (l: number) =>
    transB
      ? `{ let e = lid + ${l * threads}u; let nn = e / (BK / 4u); let kq = e % (BK / 4u);
      let gk = k0 + kq * 4u; let gn = n0 + nn;
      rb${l} = vec4<f32>(0.0); if (gk < K && gn < N) { rb${l} = b_ld4((boff + gn * K + gk) / 4u); } }`
      : `{ let e = lid + ${l * threads}u; let kk = e / (BN / 4u); let nq = e % (BN / 4u);
      let gk = k0 + kk; let gn = n0 + nq * 4u;
      rb${l} = vec4<f32>(0.0); if (gk < K && gn < N) { rb${l} = b_ld4((boff + gk * N + gn) / 4u); } }`;
  const storeB = (l: number) =>
    transB
      ? `{ let e = lid + ${l * threads}u; let nn = e / (BK / 4u); let kq = e % (BK / 4u);
      for (var c = 0u; c < 4u; c++) { Bs[((kq * 4u + c) * BN + nn) / 4u][nn % 4u] = rb${l}[c]; } }`
      : `{ let e = lid + ${l * threads}u; Bs[e] = rb${l}; }`;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const loads = [...range(la).map(loadA), ...range(lb).map(loadB)].join('\n    ');
  const stores = [...range(la).map(storeA), ...range(lb).map(storeB)].join('\n    ');
  const fma: string[] = [];
  for (let g = 0; g < gm; g++) fma.push(`let av${g} = As[kk * (BM / 4u) + ${g}u * ${ty}u + ty];`);
  for (let g = 0; g < gn; g++) fma.push(`let bv${g} = Bs[kk * (BN / 4u) + ${g}u * ${tx}u + tx];`);
  for (let r = 0; r < tm; r++) {
    for (let h = 0; h < gn; h++) {
      fma.push(
        `acc${r * gn + h} = fma(vec4<f32>(av${Math.floor(r / 4)}[${r % 4}]), bv${h}, acc${r * gn + h});`,
      );
    }
  }
  const out: string[] = [];
  for (let r = 0; r < tm; r++) {
    out.push(`{ let m = m0 + (${Math.floor(r / 4)}u * ${ty}u + ty) * 4u + ${r % 4}u; if (m < M) {`);
    for (let h = 0; h < gn; h++) {
      out.push(
        `  { let n = n0 + (${h}u * ${tx}u + tx) * 4u; if (n < N) { c_st4((coff + m * N + n) / 4u, acc${r * gn + h}); } }`,
      );
    }
    out.push('} }');
  }
  return `const BM = ${bm}u; const BN = ${bn}u; const BK = ${bk}u;
var<workgroup> As: array<vec4<f32>, ${(bm * bk) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(bn * bk) / 4}>;
@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let bz = wid.z;
  ${batchOffsetsWgsl(batchRank, at)}
  let m0 = wid.y * BM; let n0 = wid.x * BN;
  let tx = lid % ${tx}u; let ty = lid / ${tx}u;
  ${range(tm * gn)
    .map((i) => `var acc${i} = vec4<f32>(0.0);`)
    .join(' ')}
  ${range(la)
    .map((l) => `var ra${l}: vec4<f32>;`)
    .join(' ')} ${range(lb)
    .map((l) => `var rb${l}: vec4<f32>;`)
    .join(' ')}
  var k0 = 0u;
  ${loads}
  ${stores}
  workgroupBarrier();
  for (; k0 < K; ) {
    let next = k0 + BK;
    k0 = next;
    if (next < K) {
    ${loads}
    }
    for (var kk = 0u; kk < BK; kk++) {
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
    if (next < K) {
    ${stores}
    }
    workgroupBarrier();
  }
  ${out.join('\n  ')}
}`;
}
