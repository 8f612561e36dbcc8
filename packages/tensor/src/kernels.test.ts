// defineBackend: a kernel table typed against the primitive list, bound as methods of each instance.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { TensorInfo } from './backend.js';
import { defineBackend, type KernelTable } from './kernels.js';

class Memory {
  readonly calls: string[] = [];
  constructor(readonly name: string) {}
}

describe('KernelTable', () => {
  it('requires a kernel for every primitive; the fused capabilities are optional', () => {
    type Table = KernelTable<Memory>;
    expectTypeOf<Table>().toHaveProperty('fill');
    expectTypeOf<Table>().toHaveProperty('csrSpmm');
    // @ts-expect-error a table without 'fill' is not a KernelTable
    const missing: Table = {} as Omit<Table, 'fill'>;
    const withoutFused: Table = {} as Omit<Table, 'attention' | 'linear' | 'csrAttention'>;
    expect([missing, withoutFused]).toHaveLength(2);
    // a kernel takes the memory first, then the Backend method's arguments
    expectTypeOf<Table['cast']>().parameters.toEqualTypeOf<[Memory, TensorInfo, TensorInfo['dtype']]>();
  });

  it('binds each kernel to the instance it is called on, after the memory constructor ran', () => {
    const fill = (m: Memory, size: number, value: number) => {
      m.calls.push(`${m.name} fill ${size} ${value}`);
      return { dataId: {}, shape: [size] as [number], dtype: 'float32' as const };
    };
    const table = { fill } as unknown as KernelTable<Memory>;
    const Backend = defineBackend(Memory, table);
    const a = new Backend('a');
    const b = new Backend('b');
    expect(a).toBeInstanceOf(Memory);
    const detached = a.fill;
    detached(3, 1, 'float32');
    b.fill(2, 0, 'float32');
    expect(a.calls).toEqual(['a fill 3 1']);
    expect(b.calls).toEqual(['b fill 2 0']);
  });
});
