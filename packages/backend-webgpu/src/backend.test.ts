/**
 * Backend mechanics: tensors split across bindings (artificially small binding limit), a stress
 * run of many pipelines with interleaved readbacks (the Dawn instance-lifetime crash would show
 * here), memory accounting and destroy(), and the registry falling back to the CPU when no
 * adapter exists.
 */
import { CpuBackend } from '@sea/backend-cpu';
import {
  BackendUnavailableError,
  type BinaryOp,
  DeviceError,
  defaultBackend,
  forgetBackend,
  registerBackend,
  type TensorInfo,
  type UnaryOp,
} from '@sea/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, rand, tryBackend } from '../test/setup.js';
import { acquireDevice } from './device.js';
import type { WebGpuBackend } from './webgpu_backend.js';

const { backend: gpu, reason } = await tryBackend();
// 64 KiB bindings: every tensor above 16384 elements is held in several buffers.
const small = gpu ? (await tryBackend({ maxBindingBytes: 64 * 1024 })).backend : null;
afterAll(() => {
  gpu?.destroy();
  small?.destroy();
});
const cpu = new CpuBackend();

const d = gpu ? describe : describe.skip;

d('webgpu backend mechanics', () => {
  it('computes tensors larger than one binding (matmul both kernels, elementwise, softmax, reduce, transpose)', async () => {
    const g = small as WebGpuBackend;
    expect(g.chunkElems).toBe(16384);
    const run = async (
      f: (b: WebGpuBackend | CpuBackend, xs: TensorInfo[]) => TensorInfo,
      inputs: [Float32Array, number[]][],
    ) => {
      const xg = inputs.map(([v, s]) => ({
        dataId: g.upload(v, 'float32'),
        shape: s,
        dtype: 'float32' as const,
      }));
      const xc = inputs.map(([v, s]) => ({
        dataId: cpu.upload(v, 'float32'),
        shape: s,
        dtype: 'float32' as const,
      }));
      const yg = f(g, xg);
      const yc = f(cpu, xc);
      const n = yg.shape.reduce((a, x) => a * x, 1);
      expect(g.data(yg).chunks.length > 1 || xg.some((x) => g.data(x).chunks.length > 1)).toBe(true);
      const r = maxAbsDiff(await g.read(yg.dataId, 'float32', n), cpu.readSync(yc.dataId, 'float32', n));
      for (const x of [...xg, yg]) g.free(x.dataId);
      return r;
    };
    const A: [Float32Array, number[]] = [rand(2 * 160 * 96, 1), [2, 160, 96]];
    const B: [Float32Array, number[]] = [rand(96 * 200, 2), [96, 200]];
    expect(
      await run(
        (b, [a, c]) =>
          b === g
            ? g.matmul(a, c, {}, [2, 160, 200], { variant: 'tiled' } as never)
            : b.matmul(a, c, {}, [2, 160, 200]),
        [A, B],
      ),
    ).toBeLessThan(1e-4);
    expect(
      await run(
        (b, [a, c]) =>
          b === g
            ? g.matmul(a, c, {}, [2, 160, 200], { variant: 'register' } as never)
            : b.matmul(a, c, {}, [2, 160, 200]),
        [A, B],
      ),
    ).toBeLessThan(1e-4);
    const X: [Float32Array, number[]] = [rand(300 * 170, 3), [300, 170]];
    const Y: [Float32Array, number[]] = [rand(170, 4), [170]];
    expect(await run((b, [x, y]) => b.binary('mul', x, y, [300, 170]), [X, Y])).toBe(0);
    expect(await run((b, [x]) => b.unary('exp', x), [X])).toBeLessThan(1e-5);
    expect(await run((b, [x, y]) => b.softmax(x, y), [X, Y])).toBeLessThan(1e-6);
    expect(await run((b, [x]) => b.reduce('sum', x, [0]), [X])).toBeLessThan(1e-3);
    expect(await run((b, [x]) => b.transpose(x, [1, 0]), [X])).toBe(0);
    expect(
      await run(
        (b, [x]) =>
          b.layerNorm(
            x,
            { ...x, dataId: b.upload(rand(170, 5), 'float32'), shape: [170] },
            { ...x, dataId: b.upload(rand(170, 6), 'float32'), shape: [170] },
            1e-5,
          ),
        [X],
      ),
    ).toBeLessThan(1e-5);
  });

  it('survives 200 dispatch + readback cycles over 20 pipelines', async () => {
    const g = gpu as WebGpuBackend;
    const unary: UnaryOp[] = ['exp', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'gelu', 'erf', 'abs', 'neg'];
    const binary: BinaryOp[] = ['add', 'sub', 'mul', 'max', 'min', 'div', 'lt', 'gt', 'eq', 'pow'];
    const before = g.memory();
    const xv = rand(4096, 7, 0.1, 2);
    const x = { dataId: g.upload(xv, 'float32'), shape: [4096], dtype: 'float32' as const };
    const y = {
      dataId: g.upload(rand(4096, 8, 0.1, 2), 'float32'),
      shape: [4096],
      dtype: 'float32' as const,
    };
    const pipelines = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = i % 20;
      const out = k < 10 ? g.unary(unary[k], x) : g.binary(binary[k - 10], x, y, [4096]);
      pipelines.add(k < 10 ? unary[k] : binary[k - 10]);
      const r = await g.read(out.dataId, out.dtype, 4096);
      g.free(out.dataId);
      if (k === 0) expect(Math.abs(r[17] - Math.exp(xv[17]))).toBeLessThan(1e-5 * Math.exp(xv[17]));
    }
    expect(pipelines.size).toBe(20);
    g.free(x.dataId);
    g.free(y.dataId);
    expect(g.memory().bytes).toBe(before.bytes);
  });

  it('an upload never lands in a buffer that queued, unsubmitted work still reads, and submits nothing', async () => {
    const g = gpu as WebGpuBackend;
    const n = 1000;
    const av = rand(n, 11);
    const bv = rand(n, 12);
    const put = (v: Float32Array) => ({
      dataId: g.upload(v, 'float32'),
      shape: [n],
      dtype: 'float32' as const,
    });
    await g.sync();
    const c0 = g.counters();
    const xs = [put(av), put(bv)];
    const outs: TensorInfo[] = [];
    // each round queues x + x, frees x to the pool and uploads new values of the same size at once
    for (let r = 0; r < 6; r++) {
      const x = xs[r];
      outs.push(g.binary('add', x, x, [n]));
      g.free(x.dataId);
      xs.push(put(rand(n, 20 + r)));
    }
    expect(g.counters().submits - c0.submits).toBe(0);
    const want = [av, bv, ...Array.from({ length: 4 }, (_, r) => rand(n, 20 + r))];
    for (let r = 0; r < 6; r++) {
      const got = await g.read(outs[r].dataId, 'float32', n);
      expect(
        maxAbsDiff(
          got,
          want[r].map((x) => 2 * x),
        ),
        `round ${r}`,
      ).toBe(0);
      g.free(outs[r].dataId);
    }
    for (const x of xs.slice(6)) g.free(x.dataId);
  });

  it('the pool keeps what a workload above 256 MiB frees (a repeat makes no buffer), gives way before maxBytes; releasePool empties it', async () => {
    const g = gpu as WebGpuBackend;
    await g.sync();
    const n = 25 * 2 ** 20; // 100 MiB of float32
    const round = () => {
      const ids = [0, 1, 2].map(() => g.alloc(n, 'float32'));
      for (const d of ids) g.free(d);
    };
    round();
    const c0 = g.counters().buffers;
    round();
    expect(g.counters().buffers - c0).toBe(0);
    g.releasePool();
    round();
    expect(g.counters().buffers - c0).toBe(3);
    // pooled buffers give way before the backend would hold more than maxBytes
    const capped = (await tryBackend({ maxBytes: 64 * 2 ** 20 })).backend as WebGpuBackend;
    const m = 2.5 * 2 ** 20; // 10 MiB of float32
    for (const d of [0, 1, 2].map(() => capped.alloc(m, 'float32'))) capped.free(d);
    expect(capped.pooledBytes).toBe(30 * 2 ** 20);
    const big = capped.alloc(10 * 2 ** 20, 'float32'); // 40 MiB: 30 pooled + 40 > 64
    expect(capped.pooledBytes).toBe(0);
    capped.free(big);
    capped.destroy();
    g.releasePool();
    expect(g.pooledBytes).toBe(0);
  });

  it('reports live bytes and buffers, excluding pooled ones; destroy releases everything', async () => {
    const { backend: b } = await tryBackend();
    if (!b) return;
    expect(b.memory()).toEqual({ bytes: 0, buffers: 0, peakBytes: 0 });
    const a = b.upload(rand(1000, 9), 'float32');
    const c = b.zeros(10, 'int32');
    expect(b.memory()).toEqual({ bytes: 4000 + 48, buffers: 2, peakBytes: 4048 });
    b.free(a);
    expect(b.memory().bytes).toBe(48);
    b.free(c);
    expect(b.memory()).toEqual({ bytes: 0, buffers: 0, peakBytes: 4048 });
    b.resetPeak();
    expect(b.memory().peakBytes).toBe(0);
    b.upload(rand(10, 1), 'float32');
    b.destroy();
    expect(b.memory().bytes).toBe(0);
    expect(() => b.upload(rand(4, 1), 'float32')).toThrow(DeviceError);
    await expect(b.sync()).rejects.toThrow(DeviceError);
  });

  it('refuses float64 with a message naming the alternative', () => {
    const g = gpu as WebGpuBackend;
    expect(g.dtypes).not.toContain('float64');
    expect(() => g.upload(new Float64Array(4), 'float64')).toThrow(/float64 is not supported/);
  });
});

describe('webgpu unavailable', () => {
  it('a missing adapter is BackendUnavailableError and the registry falls back to the CPU', async () => {
    const g = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: { requestAdapter: async () => null } },
      configurable: true,
    });
    try {
      await expect(acquireDevice()).rejects.toThrow(BackendUnavailableError);
      await expect(acquireDevice()).rejects.toThrow(/no WebGPU adapter/);
      registerBackend({ name: 'cpu', priority: 0, create: () => new CpuBackend() });
      registerBackend({
        name: 'webgpu-test',
        priority: 10,
        create: async () => (await acquireDevice()) as never,
      });
      const best = await defaultBackend();
      expect(best.name).toBe('cpu');
      forgetBackend('webgpu-test');
    } finally {
      if (saved) Object.defineProperty(globalThis, 'navigator', saved);
      else delete g.navigator;
    }
  });
});

if (!gpu) it.skip(`webgpu unavailable: ${reason}`, () => {});
