/**
 * Dense primitives on WebGPU against float64 definitions written here (and the CPU backend where
 * it is the simplest oracle), on random inputs.
 */
import { CpuBackend } from '@sea/backend-cpu';
import type { Backend, BinaryOp, TensorInfo, TypedArray, UnaryOp } from '@sea/tensor';
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

d()('webgpu dense primitives', () => {
  it('round-trips float32, int32 and bool', async () => {
    const g = gpu as WebGpuBackend;
    for (const [v, dt] of [
      [rand(1000, 1), 'float32'],
      [Int32Array.from({ length: 77 }, (_, i) => i * 7 - 100), 'int32'],
      [Uint8Array.from({ length: 33 }, (_, i) => (i % 3 === 0 ? 1 : 0)), 'bool'],
    ] as const) {
      const id = g.upload(v, dt);
      expect(Array.from(await g.read(id, dt, v.length))).toEqual(Array.from(v));
      g.free(id);
    }
  });

  it('matmul with broadcasting batches and transposes matches float64', async () => {
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

  it('unary math matches float64 definitions', async () => {
    const ops: UnaryOp[] = [
      'neg',
      'abs',
      'exp',
      'sqrt',
      'rsqrt',
      'square',
      'reciprocal',
      'sin',
      'cos',
      'tanh',
      'sigmoid',
      'relu',
      'gelu',
      'gelu_tanh',
      'erf',
      'floor',
      'ceil',
      'round',
      'sign',
      'log',
    ];
    const x = rand(4096, 5, -6, 6);
    x[0] = 2.5;
    x[1] = -0.5;
    x[2] = 0;
    const pos = rand(4096, 6, 0.01, 9);
    for (const op of ops) {
      const v = ['sqrt', 'rsqrt', 'log'].includes(op) ? pos : x;
      const [rg, rc] = await both([{ v, shape: [64, 64] }], (b, [t]) => b.unary(op, t));
      let tol = 0;
      for (let i = 0; i < rc.length; i++) tol = Math.max(tol, Math.abs(rc[i]));
      expect(maxAbsDiff(rg, rc), op).toBeLessThanOrEqual(Math.max(2e-6, tol * 2e-6));
    }
  });

  it('binary ops with broadcasting, int32 and bool', async () => {
    const fops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow', 'eq', 'lt', 'ge'];
    for (const op of fops) {
      const a = rand(3 * 4 * 5, 7, op === 'pow' ? 0.1 : -2, 2);
      const c = rand(4 * 1, 8, -2, 2);
      if (op === 'eq') c.set([a[0], a[1], a[2], a[3]]);
      const [rg, rc] = await both(
        [
          { v: a, shape: [3, 4, 5] },
          { v: c, shape: [4, 1] },
        ],
        (b, [x, y]) => b.binary(op, x, y, [3, 4, 5]),
      );
      expect(maxAbsDiff(rg, rc), op).toBeLessThan(1e-5);
    }
    const ia = Int32Array.from({ length: 24 }, (_, i) => i * 3 - 30);
    const ib = Int32Array.from([7, -4, 0, 5, 3, -2]);
    for (const op of ['add', 'mul', 'div', 'max', 'sub'] as BinaryOp[]) {
      const [rg, rc] = await both(
        [
          { v: ia, shape: [4, 6], dtype: 'int32' },
          { v: ib, shape: [6], dtype: 'int32' },
        ],
        (b, [x, y]) => b.binary(op, x, y, [4, 6]),
      );
      expect(Array.from(rg), op).toEqual(Array.from(rc));
    }
    const ba = Uint8Array.from([1, 0, 1, 0]);
    const bb = Uint8Array.from([1, 1, 0, 0]);
    for (const op of ['and', 'or', 'eq'] as BinaryOp[]) {
      const [rg, rc] = await both(
        [
          { v: ba, shape: [4], dtype: 'bool' },
          { v: bb, shape: [4], dtype: 'bool' },
        ],
        (b, [x, y]) => b.binary(op, x, y, [4]),
      );
      expect(Array.from(rg), op).toEqual(Array.from(rc));
    }
  });

  it('where, cast, fill', async () => {
    const cond = Uint8Array.from({ length: 12 }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
    const [rg, rc] = await both(
      [
        { v: cond, shape: [3, 4], dtype: 'bool' },
        { v: rand(4, 9), shape: [4] },
        { v: rand(3, 10), shape: [3, 1] },
      ],
      (b, [c, x, y]) => b.where(c, x, y, [3, 4]),
    );
    expect(maxAbsDiff(rg, rc)).toBe(0);
    const x = rand(50, 11, -5, 5);
    x[0] = 0;
    for (const dt of ['int32', 'bool'] as const) {
      const [g2, c2] = await both([{ v: x, shape: [50] }], (b, [t]) => b.cast(t, dt));
      expect(Array.from(g2)).toEqual(Array.from(c2));
    }
    const [g3, c3] = await both([{ v: Int32Array.from([1, 0, -3]), shape: [3], dtype: 'int32' }], (b, [t]) =>
      b.cast(t, 'float32'),
    );
    expect(Array.from(g3)).toEqual(Array.from(c3));
    const g = gpu as WebGpuBackend;
    for (const dt of ['float32', 'int32', 'bool'] as const) {
      const t = g.fill(10, 3, dt);
      expect(Array.from(await g.read(t.dataId, dt, 10))).toEqual(
        Array.from(cpu.readSync(cpu.fill(10, 3, dt).dataId, dt, 10)),
      );
      g.free(t.dataId);
    }
  });

  it('reductions over axis sets, small and large', async () => {
    for (const [shape, axes] of [
      [[4, 5, 6], [1]],
      [
        [4, 5, 6],
        [0, 2],
      ],
      [[3, 2000], [1]],
      [[2000, 3], [0]],
      [[7], [0]],
    ] as [number[], number[]][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = rand(n, 12, -3, 3);
      x[5] = x[6];
      for (const op of ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'prod'] as const) {
        if ((op === 'argmax' || op === 'argmin') && axes.length > 1) continue;
        const v = op === 'prod' ? rand(n, 13, 0.9, 1.1) : x;
        const [rg, rc] = await both([{ v, shape }], (b, [t]) => b.reduce(op, t, axes));
        expect(maxAbsDiff(rg, rc), `${op} ${shape} ${axes}`).toBeLessThan(op === 'sum' ? 2e-3 : 1e-4);
      }
    }
  });

  it('softmax (with broadcast mask and −∞ rows), logSoftmax, layerNorm', async () => {
    const x = rand(3 * 5 * 300, 14, -4, 4);
    const mask = rand(5 * 300, 15, -2, 0);
    for (let j = 0; j < 300; j++) mask[j] = Number.NEGATIVE_INFINITY;
    const [rg, rc] = await both(
      [
        { v: x, shape: [3, 5, 300] },
        { v: mask, shape: [5, 300] },
      ],
      (b, [t, m]) => b.softmax(t, m),
    );
    expect(maxAbsDiff(rg, rc)).toBeLessThan(1e-6);
    expect(rg[0]).toBe(0);
    const [g2, c2] = await both([{ v: x, shape: [15, 300] }], (b, [t]) => b.logSoftmax(t));
    expect(maxAbsDiff(g2, c2)).toBeLessThan(1e-5);
    const [g3, c3] = await both(
      [
        { v: x, shape: [15, 300] },
        { v: rand(300, 16), shape: [300] },
        { v: rand(300, 17), shape: [300] },
      ],
      (b, [t, ga, be]) => b.layerNorm(t, ga, be, 1e-5),
    );
    expect(maxAbsDiff(g3, c3)).toBeLessThan(1e-5);
  });

  it('gather, takeAlong, transpose, slice, concat, pad, cumsum', async () => {
    const table = rand(10 * 6, 18);
    const idx = Int32Array.from([3, 0, 9, 3, 5, 1]);
    let [g, c] = await both(
      [
        { v: table, shape: [10, 6] },
        { v: idx, shape: [2, 3], dtype: 'int32' },
      ],
      (b, [t, i]) => b.gather(t, i),
    );
    expect(Array.from(g)).toEqual(Array.from(c));
    [g, c] = await both(
      [
        { v: table, shape: [6, 10] },
        { v: Int32Array.from({ length: 24 }, (_, i) => (i * 7) % 10), shape: [6, 4], dtype: 'int32' },
      ],
      (b, [t, i]) => b.takeAlong(t, i),
    );
    expect(Array.from(g)).toEqual(Array.from(c));
    const x = rand(2 * 3 * 4 * 5, 19);
    [g, c] = await both([{ v: x, shape: [2, 3, 4, 5] }], (b, [t]) => b.transpose(t, [2, 0, 3, 1]));
    expect(Array.from(g)).toEqual(Array.from(c));
    [g, c] = await both([{ v: x, shape: [2, 3, 4, 5] }], (b, [t]) => b.slice(t, [1, 0, 2, 1], [1, 3, 2, 3]));
    expect(Array.from(g)).toEqual(Array.from(c));
    [g, c] = await both(
      [
        { v: x, shape: [2, 3, 20] },
        { v: rand(2 * 2 * 20, 20), shape: [2, 2, 20] },
      ],
      (b, [p, q]) => b.concat([p, q], 1),
    );
    expect(Array.from(g)).toEqual(Array.from(c));
    [g, c] = await both([{ v: x, shape: [6, 20] }], (b, [t]) =>
      b.pad(
        t,
        [
          [1, 2],
          [0, 3],
        ],
        7,
      ),
    );
    expect(Array.from(g)).toEqual(Array.from(c));
    for (const [ex, rev] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      [g, c] = await both([{ v: x, shape: [2, 3, 20] }], (b, [t]) => b.cumsum(t, 1, ex, rev));
      expect(maxAbsDiff(g, c)).toBeLessThan(1e-5);
      // A long axis over few lines runs in chunks of about √len (the last one partial here).
      const long = rand(2 * 1500 * 3, 26);
      [g, c] = await both([{ v: long, shape: [2, 1500, 3] }], (b, [t]) => b.cumsum(t, 1, ex, rev));
      expect(maxAbsDiff(g, c)).toBeLessThan(2e-4);
      const ints = Int32Array.from(long, (v) => Math.round(v * 100));
      [g, c] = await both([{ v: ints, shape: [1500, 6], dtype: 'int32' }], (b, [t]) =>
        b.cumsum(t, 0, ex, rev),
      );
      expect(Array.from(g)).toEqual(Array.from(c));
    }
  });

  it('resize (nearest, bilinear both corner modes, area) and conv2d with groups and padding', async () => {
    const x = rand(2 * 3 * 7 * 9, 21);
    for (const [oh, ow] of [
      [14, 5],
      [3, 4],
      [7, 9],
    ]) {
      for (const opts of [
        { mode: 'nearest' },
        { mode: 'bilinear', alignCorners: false },
        { mode: 'bilinear', alignCorners: true },
        { mode: 'area' },
      ] as const) {
        const [g, c] = await both([{ v: x, shape: [2, 3, 7, 9] }], (b, [t]) => b.resize(t, oh, ow, opts));
        expect(maxAbsDiff(g, c), `${opts.mode} ${oh}x${ow}`).toBeLessThan(1e-5);
      }
    }
    const xi = rand(2 * 4 * 9 * 8, 22);
    const w = rand(6 * 2 * 3 * 3, 23);
    const bias = rand(6, 24);
    const opts = {
      stride: [2, 1] as [number, number],
      dilation: [1, 2] as [number, number],
      padding: [1, 0, 2, 1] as [number, number, number, number],
      groups: 2,
    };
    const oh = Math.floor((9 + 1 - 2 - 1) / 2) + 1;
    const ow = Math.floor((8 + 3 - 4 - 1) / 1) + 1;
    const [g, c] = await both(
      [
        { v: xi, shape: [2, 4, 9, 8] },
        { v: w, shape: [6, 2, 3, 3] },
        { v: bias, shape: [6] },
      ],
      (b, [t, ww, bb]) => b.conv2d(t, ww, bb, opts, [2, 6, oh, ow]),
    );
    expect(maxAbsDiff(g, c)).toBeLessThan(1e-5);
  });

  it('frees everything it allocates', async () => {
    const g = gpu as WebGpuBackend;
    const before = g.memory();
    const a = put(g, rand(64 * 64, 30), [64, 64]);
    const y = g.softmax(g.matmul(a, a, {}, [64, 64]), null);
    await g.read(y.dataId, 'float32', 16);
    expect(g.memory().buffers).toBe(before.buffers + 3);
    g.free(a.dataId);
    g.free(y.dataId);
    expect(g.memory().buffers).toBe(before.buffers + 1);
  });
});

if (!gpu) it.skipIf(true)(`webgpu unavailable: ${reason}`, () => {});
