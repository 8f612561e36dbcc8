/**
 * Batched matmul with broadcasting batch dims and transposed operands. Two kernels, chosen per
 * adapter: `tiled` (workgroup-memory tiles, for GPUs) and `register` (vec4 register blocking with
 * no workgroup memory, which is what runs fast on CPU adapters such as lavapipe). The register
 * kernel needs the contiguous dimensions to be multiples of 4; otherwise the tiled kernel runs.
 * Batch offsets are computed in the kernel from the output batch index (workgroup z).
 */
import type { MatmulOptions, TensorInfo } from '@sea/tensor';
import { broadcastStrides, type Param, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { REGISTER_TILE, registerMatmulBody } from './matmul_register.js';
import { TILE_CONFIGS, type TileConfig, tiledMatmulBody } from './matmul_tiled.js';
import { tiledVec4MatmulBody } from './matmul_tiled_vec4.js';

export interface MatmulTuning {
  /** Overrides the backend's kernel choice (benchmarks). */
  variant?: 'tiled' | 'register';
  /** Use the scalar-load tiled kernel even where the vec4 one applies (benchmarks, tests). */
  scalarTiles?: boolean;
  tile?: TileConfig;
}

export function matmul(
  b: WebGpuBackend,
  a: TensorInfo,
  c: TensorInfo,
  opts: MatmulOptions,
  outShape: readonly number[],
  tuning: MatmulTuning = {},
): TensorInfo {
  const transA = !!opts.transA;
  const transB = !!opts.transB;
  const M = outShape[outShape.length - 2];
  const N = outShape[outShape.length - 1];
  const K = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const batch = outShape.slice(0, -2);
  const nBatch = batch.reduce((x, d) => x * d, 1);
  const out = b.alloc(nBatch * M * N, a.dtype);
  if (nBatch * M * N === 0) return b.out(out, outShape, a.dtype);
  if (K === 0) {
    b.clear(out);
    return b.out(out, outShape, a.dtype);
  }
  // Batch strides in elements (0 on broadcast axes).
  const aStr = broadcastStrides(a.shape.slice(0, -2), batch).map((s) => s * M * K);
  const bStr = broadcastStrides(c.shape.slice(0, -2), batch).map((s) => s * K * N);
  const params: Param[] = [u(M), u(N), u(K)];
  const at = params.length;
  for (const [k, d] of batch.entries()) params.push(u(d), u(aStr[k]), u(bStr[k]));
  const variant = tuning.variant ?? b.matmulVariant;
  const aligned = K % 4 === 0 && N % 4 === 0 && (!transA || M % 4 === 0);
  const maxZ = b.maxWorkgroupsPerDim;
  if (nBatch > maxZ) throw new Error(`matmul: ${nBatch} batch elements exceed ${maxZ}; reshape the batch`);
  const inputs = (vec4: boolean) => [
    { name: 'a', data: b.data(a), vec4 },
    { name: 'b', data: b.data(c), vec4 },
  ];
  if (variant === 'register' && aligned) {
    b.run({
      name: 'matmul_register',
      body: registerMatmulBody(transA, transB, batch.length, at),
      inputs: inputs(true),
      outputs: [{ name: 'c', data: out, vec4: true }],
      params,
      grid: [Math.ceil(N / REGISTER_TILE.n), Math.ceil(M / REGISTER_TILE.m), nBatch],
    });
  } else {
    const cfg = tuning.tile ?? pickTile(b, M, N);
    const vec = aligned && !tuning.scalarTiles;
    b.run({
      name: vec ? 'matmul_tiled_vec4' : 'matmul_tiled',
      body: (vec ? tiledVec4MatmulBody : tiledMatmulBody)(cfg, transA, transB, batch.length, at),
      inputs: inputs(vec),
      outputs: [{ name: 'c', data: out, vec4: vec }],
      params,
      grid: [Math.ceil(N / cfg.bn), Math.ceil(M / cfg.bm), nBatch],
    });
  }
  return b.out(out, outShape, a.dtype);
}

/**
 * Tile shape by output size, from the H100 measurements in bench/results (vec4 kernel):
 * 128×128×16 reached 35.0 TFLOP/s at 4096³, 128×128×8 led at 2048³, 128×64×16 at 1024³.
 */
function pickTile(b: WebGpuBackend, M: number, N: number): TileConfig {
  if (b.summary.isFallback) return TILE_CONFIGS.medium;
  const fits = (t: TileConfig) => t.bk * (t.bm + t.bn) * 4 <= b.maxWorkgroupStorage;
  const s = Math.min(M, N);
  if (s >= 3072 && fits(TILE_CONFIGS.large16)) return TILE_CONFIGS.large16;
  if (s >= 1536) return TILE_CONFIGS.large;
  if (s >= 768) return TILE_CONFIGS.tall;
  return TILE_CONFIGS.medium;
}
