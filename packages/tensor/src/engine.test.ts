// The engine's lifetime rules on a tiny host-memory backend: reference counting of shared buffers,
// tidy scopes (sync and async, nested, on throw), keep(), and use after dispose.
import { describe, expect, it } from 'vitest';
import type { Backend, DataId, MemoryInfo, TensorInfo } from './backend.js';
import { allocArray, type DType, type TypedArray } from './dtype.js';
import { resolveReshape, type Tensor, tidy, tidyAsync } from './engine.js';
import { TensorStateError, UnsupportedOpError } from './errors.js';
import { add, neg, tensor, zeros } from './ops.js';

/** Memory plus `neg` and `add` (same-shape only); every other kernel is unsupported. */
function fakeBackend(name = 'fake', sync = true): Backend {
  const live = new Set<{ v: TypedArray }>();
  let bytes = 0;
  let peak = 0;
  const out = (v: TypedArray, shape: readonly number[], dtype: DType): TensorInfo => {
    const d = { v };
    live.add(d);
    bytes += v.byteLength;
    peak = Math.max(peak, bytes);
    return { dataId: d, shape: [...shape], dtype };
  };
  const vals = (id: DataId) => (id as { v: TypedArray }).v;
  const base = {
    name,
    dtypes: ['float32', 'int32', 'bool'] as DType[],
    upload: (v: TypedArray, dtype: DType) =>
      out(
        allocArray(dtype, v.length).map((_, i) => v[i]),
        [v.length],
        dtype,
      ).dataId,
    zeros: (n: number, dtype: DType) => out(allocArray(dtype, n), [n], dtype).dataId,
    read: async (id: DataId) => vals(id).slice(),
    readSync: sync ? (id: DataId) => vals(id).slice() : undefined,
    free: (id: DataId) => {
      const d = id as { v: TypedArray };
      if (live.delete(d)) bytes -= d.v.byteLength;
    },
    memory: (): MemoryInfo => ({ bytes, buffers: live.size, peakBytes: peak }),
    resetPeak: () => {
      peak = bytes;
    },
    sync: async () => {},
    destroy: () => {},
    fill: (n: number, value: number, dtype: DType) => out(allocArray(dtype, n).fill(value), [n], dtype),
    unary: (op: string, x: TensorInfo) => {
      if (op !== 'neg') throw new UnsupportedOpError(name, op);
      return out(
        vals(x.dataId).map((v) => -v),
        x.shape,
        x.dtype,
      );
    },
    binary: (op: string, a: TensorInfo, b: TensorInfo, shape: readonly number[]) => {
      const av = vals(a.dataId);
      const bv = vals(b.dataId);
      if (op !== 'add') throw new UnsupportedOpError(name, op);
      return out(
        av.map((v, i) => v + bv[bv.length === 1 ? 0 : i]),
        shape,
        a.dtype,
      );
    },
  };
  return new Proxy(base, {
    get(target, key) {
      if (key in target) return target[key as keyof typeof target];
      return () => {
        throw new UnsupportedOpError(name, String(key));
      };
    },
  }) as unknown as Backend;
}

const mem = (b: Backend) => ({ bytes: b.memory().bytes, buffers: b.memory().buffers });

describe('reference counting', () => {
  it('reshape shares the buffer; it is freed when the last view is disposed', () => {
    const b = fakeBackend();
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend: b });
    expect(mem(b)).toEqual({ bytes: 24, buffers: 1 });
    const r = t.reshape([3, -1]);
    const r2 = r.reshape([6]);
    expect(r.shape).toEqual([3, 2]);
    expect(mem(b).buffers).toBe(1);
    t.dispose();
    r2.dispose();
    expect(mem(b).buffers).toBe(1);
    expect([...r.dataSync()]).toEqual([1, 2, 3, 4, 5, 6]);
    r.dispose();
    expect(mem(b)).toEqual({ bytes: 0, buffers: 0 });
  });

  it('dispose twice releases once', () => {
    const b = fakeBackend();
    const t = tensor([1, 2], [2], { backend: b });
    const r = t.reshape([1, 2]);
    t.dispose();
    t.dispose();
    expect(mem(b).buffers).toBe(1);
    expect(t.isDisposed).toBe(true);
    r.dispose();
    expect(mem(b).buffers).toBe(0);
  });

  it('resolves reshape shapes and rejects bad ones', () => {
    expect(resolveReshape([2, 3, 4], [-1, 4])).toEqual([6, 4]);
    expect(resolveReshape([0, 3], [3, -1])).toEqual([3, 0]);
    expect(() => resolveReshape([2, 3], [-1, -1])).toThrow(/only one -1/);
    expect(() => resolveReshape([2, 3], [4, -1])).toThrow(/cannot infer/);
    expect(() => resolveReshape([2, 3], [5])).toThrow(/cannot reshape \[2,3\] \(6 elements\) to \[5\]/);
    expect(() => resolveReshape([2, 3], [2.5, 2])).toThrow(/bad dimension 2.5/);
  });
});

describe('tidy', () => {
  it('keeps the returned tensor and disposes the rest', () => {
    const b = fakeBackend();
    const x = tensor([1, 2, 3], [3], { backend: b });
    let inner: Tensor | null = null;
    const y = tidy(() => {
      inner = neg(x);
      return add(inner, inner);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(y.isDisposed).toBe(false);
    expect(x.isDisposed).toBe(false); // created outside the scope
    expect([...y.dataSync()]).toEqual([-2, -4, -6]);
    expect(mem(b).buffers).toBe(2);
    y.dispose();
    x.dispose();
    expect(mem(b)).toEqual({ bytes: 0, buffers: 0 });
  });

  it('keeps tensors reachable through arrays and objects', () => {
    const b = fakeBackend();
    const out = tidy(() => {
      const a = zeros([2], { backend: b });
      const c = zeros([3], { backend: b });
      zeros([4], { backend: b });
      return { list: [a], nested: { c }, n: 3 };
    });
    expect(mem(b).buffers).toBe(2);
    out.list[0].dispose();
    out.nested.c.dispose();
    expect(mem(b).buffers).toBe(0);
  });

  it('returning a reshape of a scoped tensor keeps its buffer alive', () => {
    const b = fakeBackend();
    const r = tidy(() => tensor([1, 2, 3, 4], [4], { backend: b }).reshape([2, 2]));
    expect(mem(b).buffers).toBe(1);
    expect([...r.dataSync()]).toEqual([1, 2, 3, 4]);
    r.dispose();
    expect(mem(b).buffers).toBe(0);
  });

  it('nested scopes: an inner result belongs to the outer scope', () => {
    const b = fakeBackend();
    let mid: Tensor | null = null;
    const result = tidy(() => {
      mid = tidy(() => {
        zeros([5], { backend: b });
        return zeros([2], { backend: b });
      });
      expect(mem(b).buffers).toBe(1);
      return zeros([1], { backend: b });
    });
    expect(mid!.isDisposed).toBe(true);
    expect(mem(b).buffers).toBe(1);
    result.dispose();
  });

  it('keep() survives the scope', () => {
    const b = fakeBackend();
    let kept: Tensor | null = null;
    tidy(() => {
      kept = zeros([3], { backend: b }).keep();
      zeros([3], { backend: b });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(mem(b).buffers).toBe(1);
    kept!.dispose();
  });

  it('disposes everything when the function throws, and rethrows', () => {
    const b = fakeBackend();
    expect(() =>
      tidy(() => {
        zeros([3], { backend: b });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(mem(b).buffers).toBe(0);
  });

  it('async: awaits the function, keeps its resolved result', async () => {
    const b = fakeBackend('fake', false);
    const y = await tidy(async () => {
      const x = tensor([1, 2], [2], { backend: b });
      await new Promise((r) => setTimeout(r, 1));
      const v = await x.data();
      return tensor([v[0] + v[1]], [1], { backend: b });
    });
    expect(mem(b).buffers).toBe(1);
    expect([...(await y.data())]).toEqual([3]);
    y.dispose();
    expect(mem(b).buffers).toBe(0);
  });

  it('async: a rejection disposes the scope', async () => {
    const b = fakeBackend();
    await expect(
      tidy(async () => {
        zeros([3], { backend: b });
        await Promise.resolve();
        throw new Error('late');
      }),
    ).rejects.toThrow('late');
    expect(mem(b).buffers).toBe(0);
  });
});

describe('tidyAsync', () => {
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('disposes what was created across awaits and keeps the resolved tensors', async () => {
    const b = fakeBackend('fake', false);
    const x = tensor([1, 2, 3], [3], { backend: b });
    const made: Tensor[] = [];
    const out = await tidyAsync(async () => {
      const y = neg(x);
      made.push(y);
      await tick();
      const z = add(y, x);
      made.push(z);
      const v = await z.data();
      await tick();
      return { sum: tensor([v[0] + v[1] + v[2]], [1], { backend: b }), list: [add(y, y)] };
    });
    expect(made.every((t) => t.isDisposed)).toBe(true);
    expect(x.isDisposed).toBe(false);
    expect([...(await out.sum.data())]).toEqual([0]);
    expect([...(await out.list[0].data())]).toEqual([-2, -4, -6]);
    expect(mem(b).buffers).toBe(3);
    for (const t of [x, out.sum, out.list[0]]) t.dispose();
    expect(mem(b)).toEqual({ bytes: 0, buffers: 0 });
  });

  it('on a rejection after an await disposes every tensor of the scope and rethrows', async () => {
    const b = fakeBackend();
    const kept = zeros([2], { backend: b });
    await expect(
      tidyAsync(async () => {
        add(kept, kept);
        await tick();
        zeros([4], { backend: b });
        throw new RangeError('late');
      }),
    ).rejects.toThrow(RangeError);
    expect(mem(b).buffers).toBe(1);
    expect(kept.isDisposed).toBe(false);
    kept.dispose();
  });

  it('nested: the inner result belongs to the outer scope; keep() survives both', async () => {
    const b = fakeBackend();
    let inner: Tensor | null = null;
    let survivor: Tensor | null = null;
    const result = await tidyAsync(async () => {
      inner = await tidyAsync(async () => {
        zeros([5], { backend: b });
        await tick();
        survivor = zeros([7], { backend: b }).keep();
        return zeros([2], { backend: b });
      });
      expect(mem(b).buffers).toBe(2); // inner result + kept
      await tick();
      const r = tidy(() => add(inner as Tensor, 1));
      return r;
    });
    expect(inner!.isDisposed).toBe(true);
    expect(survivor!.isDisposed).toBe(false);
    expect([...result.dataSync()]).toEqual([1, 1]);
    expect(mem(b).buffers).toBe(2);
    result.dispose();
    survivor!.dispose();
    expect(mem(b).buffers).toBe(0);
  });

  it('an inner scope that throws disposes only its own tensors; the outer one continues', async () => {
    const b = fakeBackend();
    const out = await tidyAsync(async () => {
      const a = zeros([3], { backend: b });
      await expect(
        tidyAsync(async () => {
          zeros([9], { backend: b });
          await tick();
          throw new Error('inner');
        }),
      ).rejects.toThrow('inner');
      expect(a.isDisposed).toBe(false);
      expect(mem(b).buffers).toBe(1);
      return add(a, 2);
    });
    expect([...out.dataSync()]).toEqual([2, 2, 2]);
    expect(mem(b).buffers).toBe(1);
    out.dispose();
  });
});

describe('use after dispose', () => {
  it('ops, reshape, data and dataSync name the disposed tensor', async () => {
    const b = fakeBackend();
    const t = tensor([1, 2, 3], [3], { backend: b });
    t.dispose();
    expect(() => neg(t)).toThrow(TensorStateError);
    expect(() => neg(t)).toThrow(/neg input \[3\] float32 was used after dispose/);
    expect(() => t.reshape([3])).toThrow(TensorStateError);
    expect(() => t.dataSync()).toThrow(TensorStateError);
    await expect(t.data()).rejects.toThrow(TensorStateError);
    expect(String(t)).toContain('disposed');
  });

  it('mixing backends and missing sync reads are TensorStateErrors', () => {
    const b1 = fakeBackend('one');
    const b2 = fakeBackend('two', false);
    const x = tensor([1], [1], { backend: b1 });
    const y = tensor([1], [1], { backend: b2 });
    expect(() => add(x, y)).toThrow(/different backends \('one' and 'two'\)/);
    expect(() => y.dataSync()).toThrow(/backend 'two' has no synchronous read; use await tensor.data\(\)/);
  });

  it('array() nests values by shape', async () => {
    const b = fakeBackend();
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend: b });
    expect(await t.array()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await tensor([7], [], { backend: b }).array()).toBe(7);
  });
});
