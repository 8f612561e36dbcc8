/**
 * The WebGPU kernel variants the backend's own choice does not reach, against the CPU backend: the
 * matmul kernels (tiled with vector or scalar tiles, register-blocked) on shapes that cross their
 * tile edges, and the Performer prefix sums in chunk lengths other than the default √T. The
 * conformance suite checks the variant the backend picks for its adapter; this checks the others.
 */
import { CpuBackend } from '@sea/backend-cpu';
import type { Backend, TensorInfo, TypedArray } from '@sea/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, tryBackend } from '../test/setup.js';
import type { WebGpuBackend } from './webgpu_backend.js';

const { backend: gpu, reason } = await tryBackend();
const cpu = new CpuBackend();
if (gpu)
  console.log(
    `webgpu adapter: ${gpu.summary.description || gpu.summary.device} (fallback ${gpu.summary.isFallback}, matmul ${gpu.matmulVariant})`,
  );
afterAll(() => gpu?.destroy());

function put(
  b: Backend,
  values: TypedArray,
  shape: number[],
  dtype: TensorInfo['dtype'] = 'float32',
): TensorInfo {
  return { dataId: b.upload(values, dtype), shape, dtype };
}

async function both(
  values: { v: TypedArray; shape: number[]; dtype?: TensorInfo['dtype'] }[],
  fn: (b: Backend, xs: TensorInfo[]) => TensorInfo,
): Promise<[TypedArray, TypedArray, TensorInfo]> {
  const g = gpu as WebGpuBackend;
  const xg = values.map((x) => put(g, x.v, x.shape, x.dtype));
  const xc = values.map((x) => put(cpu, x.v, x.shape, x.dtype));
  const yg = fn(g, xg);
  const yc = fn(cpu, xc);
  const size = yg.shape.reduce((a, d) => a * d, 1);
  const rg = await g.read(yg.dataId, yg.dtype, size);
  const rc = await cpu.read(yc.dataId, yc.dtype, size);
  for (const x of xg) g.free(x.dataId);
  g.free(yg.dataId);
  expect(yg.shape).toEqual(yc.shape);
  expect(yg.dtype).toEqual(yc.dtype);
  return [rg, rc, yg];
}

const d = () => (gpu ? describe : describe.skip);

d()('webgpu matmul variants', () => {
  it('every variant matches the CPU backend on broadcast batches, transposes and ragged tiles', async () => {
    for (const [variant, scalarTiles] of [
      ['tiled', true],
      ['tiled', false],
      ['register', false],
    ] as const) {
      for (const [aS, bS, tA, tB] of [
        [[67, 45], [45, 33], false, false],
        [[2, 3, 64, 32], [1, 32, 48], false, false],
        [[3, 32, 64], [3, 48, 64], false, true],
        [[2, 16, 20], [2, 16, 24], true, false],
        [[5, 7], [9, 5], true, true],
        [[2, 132, 72], [2, 136, 72], false, true],
        [[72, 132], [72, 200], true, false],
        [[260, 68], [68, 132], false, false],
      ] as [number[], number[], boolean, boolean][]) {
        const a = rand(
          aS.reduce((x, y) => x * y, 1),
          3,
        );
        const bb = rand(
          bS.reduce((x, y) => x * y, 1),
          4,
        );
        const M = tA ? aS[aS.length - 1] : aS[aS.length - 2];
        const N = tB ? bS[bS.length - 2] : bS[bS.length - 1];
        const batch = aS.length > bS.length ? aS.slice(0, -2) : bS.slice(0, -2);
        const out = [...batch, M, N];
        const [rg, rc] = await both(
          [
            { v: a, shape: aS },
            { v: bb, shape: bS },
          ],
          (b, [x, y]) =>
            b === gpu
              ? (gpu as WebGpuBackend).matmul(x, y, { transA: tA, transB: tB }, out, {
                  variant,
                  scalarTiles,
                } as never)
              : b.matmul(x, y, { transA: tA, transB: tB }, out),
        );
        expect(
          maxAbsDiff(rg, rc),
          `${variant}${scalarTiles ? '-scalar' : ''} ${aS}×${bS} ${tA} ${tB}`,
        ).toBeLessThan(1e-4);
      }
    }
  });
});

d()('webgpu performerPrefixSum chunk lengths', () => {
  it('both kernels, every chunk length, match the CPU backend (one chunk, partial last chunks, chunks not a multiple of the row blocks)', async () => {
    // [B, H, T, M, E, chunk, variant] ('columns' takes M ≤ 64)
    for (const [B, H, T, M, E, chunk, variant] of [
      [1, 2, 37, 33, 6, 64, 'features'],
      [2, 1, 20, 130, 64, 32, 'features'],
      [1, 2, 61, 70, 10, 7, 'features'],
      [1, 3, 300, 33, 128, 40, 'features'],
      [1, 2, 37, 33, 6, 64, 'columns'],
      [2, 1, 20, 64, 64, 32, 'columns'],
      [1, 2, 61, 17, 10, 7, 'columns'],
      [1, 3, 300, 33, 130, 40, 'columns'],
      [1, 1, 100, 1, 65, 16, 'columns'],
    ] as const) {
      const feat = (seed: number) => rand(B * H * T * M, seed, 0.001, 1);
      const [rg, rc] = await both(
        [
          { v: feat(1), shape: [B, H, T, M] },
          { v: feat(2), shape: [B, H, T, M] },
          { v: rand(B * H * T * E, 3), shape: [B, H, T, E] },
        ],
        (b, [qf, kf, v]) =>
          b === gpu
            ? (gpu as WebGpuBackend).performerPrefixSum(qf, kf, v, { eps: 1e-6 }, chunk, variant)
            : b.performerPrefixSum(qf, kf, v, { eps: 1e-6 }),
      );
      expect(maxAbsDiff(rg, rc), `${variant} [${B},${H},${T},${M}] E ${E} chunk ${chunk}`).toBeLessThan(1e-5);
    }
  });
});

if (!gpu) it.skipIf(true)(`webgpu unavailable: ${reason}`, () => {});
