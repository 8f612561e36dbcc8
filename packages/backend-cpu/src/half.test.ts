// float16/bfloat16 on the CPU backend (by conversion: float64 compute, one rounding per output), and
// the op layer's refusal on a backend that does not list a dtype.
import { astype, cast, conv2d, DTypeError, matmul, softmax, tensor, tidy } from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from './cpu_backend.js';

describe('16-bit dtypes on the cpu backend', () => {
  const backend = new CpuBackend();

  it('stores bit patterns, reads back float32 values rounded to nearest even', async () => {
    const x = tensor([1, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 1e-3], [4], { backend, dtype: 'bfloat16' });
    const d = await x.data();
    expect(d).toBeInstanceOf(Float32Array);
    expect([...d]).toEqual([1, 1, 1 + 2 ** -7, Math.fround(0.00099945068359375)]);
    expect([...((await x.bits()) as Uint16Array)]).toEqual([0x3f80, 0x3f80, 0x3f81, 0x3a83]);
    const bits = tensor(new Uint16Array([0x3c00, 0xc000]), [2], { backend, dtype: 'float16' });
    expect([...(await bits.data())]).toEqual([1, -2]);
    x.dispose();
    bits.dispose();
  });

  it('ops keep the input dtype and round the float64 result once', async () => {
    await tidy(async () => {
      // 3 × (1/3 in bf16): exact product 0.99609375; float64 then one rounding
      const a = tensor([1 / 3, 1 / 3, 1 / 3], [1, 3], { backend, dtype: 'bfloat16' });
      const b = tensor([1, 1, 1], [3, 1], { backend, dtype: 'bfloat16' });
      const y = matmul(a, b);
      expect(y.dtype).toBe('bfloat16');
      const third = 0.333984375; // 1/3 rounded to bf16
      expect((await y.data())[0]).toBe(
        Math.fround(Number(tensor([3 * third], [1], { backend, dtype: 'bfloat16' }).dataSync()[0])),
      );
      const p = softmax(tensor([0, Math.log(3)], [2], { backend, dtype: 'float16' }));
      expect(p.dtype).toBe('float16');
      const [p0, p1] = await p.data();
      expect(Math.abs(p0 - 0.25)).toBeLessThanOrEqual(2 ** -13);
      expect(Math.abs(p1 - 0.75)).toBeLessThanOrEqual(2 ** -12);
      const f = cast(y, 'float32');
      expect(f.dtype).toBe('float32');
      expect(astype(f, 'float16').dtype).toBe('float16');
    });
  });

  it('a mixed-dtype op is refused with both dtypes named', () => {
    const a = tensor([1, 2], [1, 2], { backend, dtype: 'bfloat16' });
    const b = tensor([1, 2], [2, 1], { backend, dtype: 'float32' });
    expect(() => matmul(a, b)).toThrow(/bfloat16 but b is float32/);
    const x = tensor(new Array(4).fill(1), [1, 1, 2, 2], { backend, dtype: 'float16' });
    const w = tensor([1], [1, 1, 1, 1], { backend, dtype: 'float32' });
    expect(() => conv2d(x, w)).toThrow('conv2d: weight must be float16, got float32');
    for (const t of [a, b, x, w]) t.dispose();
  });
});

describe('a backend that does not list a dtype', () => {
  class Float32Only extends CpuBackend {
    override readonly dtypes = ['float32', 'int32', 'bool'] as const;
  }
  const backend = new Float32Only();

  it('refuses to create or cast to it, naming the backend, the dtype and what it lists', () => {
    expect(() => tensor([1], [1], { backend, dtype: 'bfloat16' })).toThrow(DTypeError);
    expect(() => tensor([1], [1], { backend, dtype: 'float16' })).toThrow(
      "tensor: the 'cpu' backend does not compute in float16 (it lists float32, int32, bool)",
    );
    const x = tensor([1], [1], { backend });
    expect(() => cast(x, 'bfloat16')).toThrow(/cast: the 'cpu' backend does not compute in bfloat16/);
    x.dispose();
    expect(backend.memory().buffers).toBe(0);
  });
});
