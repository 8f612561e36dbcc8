import { add, bytesPerElement, type DType, exp, matmul, softmax, sum, tensor, tidy } from '@sea/tensor';
import { assertEqual, values } from '../check.js';
import { bools, ints, normal, rngFor } from '../data.js';
import type { SuiteContext } from '../suite.js';

export function registerMemory(s: SuiteContext): void {
  s.group('memory', 'memory', (test) => {
    const dtypes = (['float32', 'float64', 'int32', 'bool'] as const).filter(s.hasDType);
    for (const dtype of dtypes) {
      test(`upload, read and free ${dtype}`, async ({ backend }) => {
        const rng = rngFor(`upload ${dtype}`);
        const shape = [3, 37];
        const v: Float64Array =
          dtype === 'bool'
            ? bools(rng, shape)
            : dtype === 'int32'
              ? ints(rng, shape, -(2 ** 31), 2 ** 31 - 1)
              : normal(rng, shape, dtype as DType);
        const before = backend.memory();
        const t = tensor(v, shape, { backend, dtype });
        const during = backend.memory();
        if (
          during.buffers !== before.buffers + 1 ||
          during.bytes < before.bytes + 111 * bytesPerElement(dtype)
        ) {
          throw new Error(
            `a ${dtype} [3,37] upload moved memory from ${JSON.stringify(before)} to ${JSON.stringify(during)}`,
          );
        }
        if (during.peakBytes < during.bytes)
          throw new Error(`peakBytes ${during.peakBytes} below bytes ${during.bytes}`);
        const first = await values(t, shape, dtype, 'read');
        assertEqual(first, v, `${dtype} round trip`, shape);
        // a read is a copy the caller may write to
        (first as unknown as number[])[0] = 42;
        assertEqual(await t.data(), v, `${dtype} second read`, shape);
        t.dispose();
        const after = backend.memory();
        if (after.bytes !== before.bytes || after.buffers !== before.buffers) {
          throw new Error(
            `dispose left memory at ${JSON.stringify(after)}, started at ${JSON.stringify(before)}`,
          );
        }
      });
    }
    test('reshape shares the buffer; the last owner frees it', async ({ backend }) => {
      const before = backend.memory();
      const t = tensor([1, 2, 3, 4, 5, 6], [2, 3], { backend });
      const r = t.reshape([3, 2]);
      if (backend.memory().buffers !== before.buffers + 1) throw new Error('reshape allocated a buffer');
      t.dispose();
      assertEqual(
        await values(r, [3, 2], 'float32', 'reshape'),
        [1, 2, 3, 4, 5, 6],
        'reshape after the source is disposed',
      );
      r.dispose();
      const after = backend.memory();
      if (after.buffers !== before.buffers || after.bytes !== before.bytes)
        throw new Error('reshape leaked its buffer');
    });
    test('a forward pass in tidy returns memory to its start; resetPeak', async ({ backend }) => {
      const rng = rngFor('forward');
      const x = tensor(normal(rng, [8, 16], 'float32'), [8, 16], { backend, dtype: 'float32' });
      const w = tensor(normal(rng, [16, 16], 'float32'), [16, 16], { backend, dtype: 'float32' });
      const before = backend.memory();
      const y = tidy(() => sum(softmax(add(exp(matmul(x, w)), 1)), -1));
      await backend.sync();
      const mid = backend.memory();
      if (mid.buffers !== before.buffers + 1) {
        throw new Error(`tidy kept ${mid.buffers - before.buffers} buffers, want 1 (its result)`);
      }
      y.dispose();
      backend.resetPeak();
      const reset = backend.memory();
      if (reset.peakBytes !== reset.bytes)
        throw new Error(`resetPeak left peak ${reset.peakBytes} at bytes ${reset.bytes}`);
    });
  });
}
