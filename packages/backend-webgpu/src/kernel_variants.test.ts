/**
 * The WebGPU kernel variants the backend's own choice does not reach, against the CPU backend: the
 * matmul kernels (tiled with vector or scalar tiles, register-blocked) on shapes that cross their
 * tile edges, and the Performer prefix sums in chunk lengths other than the default √T. The
 * conformance suite checks the variant the backend picks for its adapter; this checks the others.
 */
import { CpuBackend } from '@sea/backend-cpu';
import type { Backend, TensorInfo, TypedArray } from '@sea/tensor';
import { halfBitsToFloat32, numbersToHalfBits } from '@sea/tensor/backend';
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

d()('webgpu conv2d paths', () => {
  it('two pixels a thread (weights staged in workgroup memory, or not when the block is large) and one pixel a thread match the CPU backend', async () => {
    // [x shape, w shape, stride, dilation, padding [t, b, l, r]]
    for (const [xs, ws, st, dl, pd] of [
      [
        [2, 24, 9, 16],
        [24, 24, 3, 3],
        [1, 1],
        [2, 2],
        [4, 0, 2, 2],
      ],
      [
        [1, 64, 5, 6],
        [16, 64, 3, 3],
        [1, 1],
        [1, 1],
        [1, 1, 1, 1],
      ],
      [
        [1, 3, 7, 9],
        [4, 3, 3, 3],
        [1, 2],
        [1, 1],
        [1, 1, 1, 1],
      ],
    ] as [number[], number[], [number, number], [number, number], [number, number, number, number]][]) {
      const OH = Math.floor((xs[2] + pd[0] + pd[1] - dl[0] * (ws[2] - 1) - 1) / st[0]) + 1;
      const OW = Math.floor((xs[3] + pd[2] + pd[3] - dl[1] * (ws[3] - 1) - 1) / st[1]) + 1;
      const out = [xs[0], ws[0], OH, OW];
      const [rg, rc] = await both(
        [
          {
            v: rand(
              xs.reduce((a, x) => a * x, 1),
              1,
            ),
            shape: xs,
          },
          {
            v: rand(
              ws.reduce((a, x) => a * x, 1),
              2,
            ),
            shape: ws,
          },
          { v: rand(ws[0], 3), shape: [ws[0]] },
        ],
        (b, [x, w, bias]) => b.conv2d(x, w, bias, { stride: st, dilation: dl, padding: pd, groups: 1 }, out),
      );
      expect(maxAbsDiff(rg, rc), `x[${xs}] w[${ws}] → OW ${OW}`).toBeLessThan(1e-4);
    }
  });
});

d()(
  'webgpu row kernels (layerNorm with and without GELU, softmax, logSoftmax): threads a row, or a workgroup a row',
  () => {
    const packed = gpu ? (async () => (await tryBackend({ float16: 'packed' })).backend)() : null;
    afterAll(async () => (await packed)?.destroy());
    it('both kernels match the CPU backend in float32 and float16 (native and packed), NaN, +∞ and all −∞ rows included', async () => {
      const backends = [gpu as WebGpuBackend, (await packed) as WebGpuBackend];
      for (const [rows, n] of [
        [1100, 64],
        [1500, 33],
        [37, 1000],
      ]) {
        const xv = rand(rows * n, rows + n, -4, 4);
        const g = rand(n, 5, 0.5, 1.5);
        const be = rand(n, 6);
        // row 1: a NaN, row 2: +∞, row 0: all −∞ (softmax: zeros; layerNorm: NaN)
        xv.fill(Number.NEGATIVE_INFINITY, 0, n);
        if (rows > 2) {
          xv[n + (3 % n)] = Number.NaN;
          xv[2 * n] = Number.POSITIVE_INFINITY;
        }
        for (const dtype of ['float32', 'float16'] as const) {
          const enc = (v: Float32Array) => (dtype === 'float32' ? v : numbersToHalfBits(v, dtype));
          const dec = (v: TypedArray) =>
            dtype === 'float32' ? (v as Float32Array) : halfBitsToFloat32(v as Uint16Array, dtype);
          const tol = dtype === 'float32' ? 2e-5 : 4e-3;
          const run = async (b: Backend, op: string, variant?: string) => {
            const x = put(b, enc(xv), [rows, n], dtype);
            const gg = put(b, enc(g), [n], dtype);
            const bb = put(b, enc(be), [n], dtype);
            const gb = b as WebGpuBackend;
            const y =
              op === 'layerNorm' || op === 'layerNorm+gelu'
                ? b === cpu
                  ? b.layerNorm(x, gg, bb, 1e-5, op === 'layerNorm' ? 'none' : 'gelu')
                  : gb.layerNorm(x, gg, bb, 1e-5, op === 'layerNorm' ? 'none' : 'gelu', variant as never)
                : op === 'softmax'
                  ? b === cpu
                    ? b.softmax(x, null)
                    : gb.softmax(x, null, variant as never)
                  : b === cpu
                    ? b.logSoftmax(x)
                    : gb.logSoftmax(x, variant as never);
            const r = dec(await b.read(y.dataId, dtype, rows * n));
            for (const t of [x, gg, bb, y]) b.free(t.dataId);
            return r;
          };
          for (const op of ['layerNorm', 'layerNorm+gelu', 'softmax', 'logSoftmax']) {
            const want = await run(cpu, op);
            for (const b of dtype === 'float32' ? backends.slice(0, 1) : backends)
              for (const variant of ['grouped', 'row']) {
                const got = await run(b, op, variant);
                let worst = 0;
                for (let i = 0; i < got.length; i++) {
                  const [a, w] = [got[i], want[i]];
                  if (Number.isNaN(w) || Number.isNaN(a)) {
                    if (!(Number.isNaN(w) && Number.isNaN(a))) worst = Number.POSITIVE_INFINITY;
                    continue;
                  }
                  if (a === w) continue;
                  worst = Math.max(worst, Math.abs(a - w) / (1 + Math.abs(w)));
                }
                expect(
                  worst,
                  `${op} ${variant} ${dtype}${b === backends[1] ? ' packed' : ''} [${rows},${n}]`,
                ).toBeLessThan(tol);
              }
          }
        }
      }
    });
  },
);

if (!gpu) it.skipIf(true)(`webgpu unavailable: ${reason}`, () => {});
