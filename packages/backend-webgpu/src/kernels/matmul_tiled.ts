/**
 * Matmul with workgroup-memory tiles: a BM×BN output tile per workgroup, BK-deep slabs of A (stored
 * k-major so rows read as vec4) and B staged in workgroup memory, TM×TN outputs per thread held in
 * registers. Each thread's rows and columns are split in groups of 4 spread across the tile, so
 * neighbouring threads read neighbouring vec4s. Scalar global loads with bounds checks make it
 * correct for every shape and layout (transA/transB only change the load indexing).
 */
import { batchOffsetsWgsl } from './matmul_batch.js';

export interface TileConfig {
  bm: number;
  bn: number;
  bk: number;
  tm: number;
  tn: number;
}

export const TILE_CONFIGS = {
  medium: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  large: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  wide: { bm: 64, bn: 128, bk: 16, tm: 4, tn: 8 },
  large16: { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  tall: { bm: 128, bn: 64, bk: 16, tm: 8, tn: 4 },
} satisfies Record<string, TileConfig>;

export function tiledMatmulBody(
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
  const loadsA = (bm * bk) / threads;
  const loadsB = (bn * bk) / threads;
  const aIdx = transA
    ? 'let mm = e % BM; let kk = e / BM; let gk = k0 + kk; let gmr = m0 + mm; let ok = gk < K && gmr < M; let src = aoff + gk * M + gmr;'
    : 'let kk = e % BK; let mm = e / BK; let gk = k0 + kk; let gmr = m0 + mm; let ok = gk < K && gmr < M; let src = aoff + gmr * K + gk;';
  const bIdx = transB
    ? 'let kk = e % BK; let nn = e / BK; let gk = k0 + kk; let gnc = n0 + nn; let ok = gk < K && gnc < N; let src = boff + gnc * K + gk;'
    : 'let nn = e % BN; let kk = e / BN; let gk = k0 + kk; let gnc = n0 + nn; let ok = gk < K && gnc < N; let src = boff + gk * N + gnc;';
  const accDecl = Array.from({ length: tm * gn }, (_, i) => `var acc${i} = vec4<f32>(0.0);`).join(' ');
  const fma: string[] = [];
  for (let g = 0; g < gm; g++) fma.push(`let av${g} = As[kk * (BM / 4u) + ${g}u * ${ty}u + ty];`);
  for (let g = 0; g < gn; g++) fma.push(`let bv${g} = Bs[kk * (BN / 4u) + ${g}u * ${tx}u + tx];`);
  for (let r = 0; r < tm; r++) {
    const g = Math.floor(r / 4);
    for (let h = 0; h < gn; h++)
      fma.push(`acc${r * gn + h} = fma(vec4<f32>(av${g}[${r % 4}]), bv${h}, acc${r * gn + h});`);
  }
  const stores: string[] = [];
  for (let r = 0; r < tm; r++) {
    const g = Math.floor(r / 4);
    stores.push(`{ let m = m0 + (${g}u * ${ty}u + ty) * 4u + ${r % 4}u; if (m < M) {`);
    for (let h = 0; h < gn; h++) {
      stores.push(`  { let n = n0 + (${h}u * ${tx}u + tx) * 4u; let v = acc${r * gn + h};
    for (var q = 0u; q < 4u; q++) { if (n + q < N) { c_st(coff + m * N + n + q, v[q]); } } }`);
    }
    stores.push('} }');
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
  ${accDecl}
  for (var k0 = 0u; k0 < K; k0 += BK) {
    for (var l = 0u; l < ${loadsA}u; l++) {
      let e = lid + l * ${threads}u;
      ${aIdx}
      var v = 0.0; if (ok) { v = a_ld(src); }
      As[(kk * BM + mm) / 4u][mm % 4u] = v;
    }
    for (var l = 0u; l < ${loadsB}u; l++) {
      let e = lid + l * ${threads}u;
      ${bIdx}
      var v = 0.0; if (ok) { v = b_ld(src); }
      Bs[(kk * BN + nn) / 4u][nn % 4u] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      ${fma.join('\n      ')}
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`;
}
