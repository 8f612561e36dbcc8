/**
 * Matmul by register blocking without workgroup memory: each thread computes a 4×4 output block
 * from vec4 loads along each operand's contiguous dimension (4×4 register transposes turn the
 * transposed layouts into the same inner product). On CPU adapters (lavapipe) this vectorises
 * into SIMD and beats workgroup-memory tiling several times over. Needs K, N (and M when transA)
 * to be multiples of 4.
 */
import { batchOffsetsWgsl } from './matmul_batch.js';

export const REGISTER_TILE = { m: 32, n: 32 };

export function registerMatmulBody(transA: boolean, transB: boolean, batchRank: number, at: number): string {
  // Row i of the 4-row A block at k..k+3, as coefficients coef(i, kk).
  const loadA = transA
    ? [0, 1, 2, 3].map((kk) => `let at${kk} = a_ld4((aoff + (k + ${kk}u) * M + m) / 4u);`).join('\n    ')
    : [0, 1, 2, 3]
        .map((i) => `let ar${i} = a_ld4((aoff + min(m + ${i}u, M - 1u) * K + k) / 4u);`)
        .join('\n    ');
  const coef = (i: number, kk: number) => (transA ? `at${kk}[${i}]` : `ar${i}[${kk}]`);
  const loadB = transB
    ? `${[0, 1, 2, 3].map((j) => `let bt${j} = b_ld4((boff + min(n + ${j}u, N - 1u) * K + k) / 4u);`).join('\n    ')}
    ${[0, 1, 2, 3].map((kk) => `let bk${kk} = vec4<f32>(bt0[${kk}], bt1[${kk}], bt2[${kk}], bt3[${kk}]);`).join('\n    ')}`
    : [0, 1, 2, 3].map((kk) => `let bk${kk} = b_ld4((boff + (k + ${kk}u) * N + n) / 4u);`).join('\n    ');
  const fma: string[] = [];
  for (let i = 0; i < 4; i++) {
    fma.push(`acc${i} = fma(vec4<f32>(${coef(i, 0)}), bk0, acc${i});`);
    for (let kk = 1; kk < 4; kk++) fma.push(`acc${i} = fma(vec4<f32>(${coef(i, kk)}), bk${kk}, acc${i});`);
  }
  return `@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u);
  let bz = gid.z;
  ${batchOffsetsWgsl(batchRank, at)}
  let n = gid.x * 4u; let m = gid.y * 4u;
  if (n >= N || m >= M) { return; }
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K; k += 4u) {
    ${loadA}
    ${loadB}
    ${fma.join('\n    ')}
  }
  c_st4((coff + m * N + n) / 4u, acc0);
  if (m + 1u < M) { c_st4((coff + (m + 1u) * N + n) / 4u, acc1); }
  if (m + 2u < M) { c_st4((coff + (m + 2u) * N + n) / 4u, acc2); }
  if (m + 3u < M) { c_st4((coff + (m + 3u) * N + n) / 4u, acc3); }
}`;
}
