import {
  add,
  CsrMatrix,
  conv2d,
  csrSddmm,
  DTypeError,
  gather,
  groupedTopK,
  layerNorm,
  matmul,
  performerPrefixSum,
  ShapeError,
  softmax,
  stretchToCsr,
  TensorStateError,
  tensor,
  zeros,
} from '@sea/tensor';
import { assertThrows } from '../check.js';
import type { SuiteContext } from '../suite.js';

/** Ops reject bad input with errors that name what was wrong, before any kernel runs. */
export function registerErrors(s: SuiteContext): void {
  s.group('errors', 'errors', (test) => {
    test('matmul inner-dimension mismatch names both shapes', ({ backend }) => {
      const a = zeros([2, 3], { backend });
      const b = zeros([4, 5], { backend });
      assertThrows(() => matmul(a, b), ShapeError, '[2,3]', '[4,5]');
      assertThrows(
        () => matmul(a, zeros([2, 4, 5], { backend }), { transB: true }),
        ShapeError,
        '[2,3]',
        '[2,4,5]',
      );
    });
    test('matmul of rank 1 and of unbroadcastable batches', ({ backend }) => {
      assertThrows(() => matmul(zeros([3], { backend }), zeros([3, 2], { backend })), ShapeError, 'rank');
      assertThrows(
        () => matmul(zeros([2, 1, 3], { backend }), zeros([3, 3, 2], { backend })),
        ShapeError,
        '[2]',
        '[3]',
      );
    });
    test('wrong dtypes are DTypeErrors', ({ backend }) => {
      if (s.hasDType('int32')) {
        const i = zeros([2, 2], { backend, dtype: 'int32' });
        assertThrows(() => matmul(i, i), DTypeError, 'int32');
        assertThrows(() => softmax(i), DTypeError, 'int32');
        const f = zeros([2, 2], { backend });
        assertThrows(() => add(f, i), DTypeError, 'float32', 'int32');
        assertThrows(
          () => groupedTopK(zeros([2, 3], { backend }), zeros([2], { backend })),
          DTypeError,
          'budgets',
          'int32',
        );
      }
      if (s.hasDType('float64')) {
        assertThrows(
          () => matmul(zeros([2, 2], { backend }), zeros([2, 2], { backend, dtype: 'float64' })),
          DTypeError,
          'float32',
          'float64',
        );
      }
    });
    test('broadcast failure names both shapes', ({ backend }) => {
      assertThrows(
        () => add(zeros([2, 3], { backend }), zeros([4], { backend })),
        ShapeError,
        '[2,3]',
        '[4]',
      );
    });
    test('shape contracts of layerNorm, conv2d and performerPrefixSum', ({ backend }) => {
      const x = zeros([2, 5], { backend });
      assertThrows(
        () => layerNorm(x, zeros([4], { backend }), zeros([5], { backend })),
        ShapeError,
        'gamma',
        '[5]',
        '[4]',
      );
      assertThrows(
        () => conv2d(zeros([1, 3, 5, 5], { backend }), zeros([2, 4, 3, 3], { backend })),
        ShapeError,
        '[2,4,3,3]',
        '[1,3,5,5]',
      );
      const q = zeros([1, 2, 7, 4], { backend });
      assertThrows(
        () => performerPrefixSum(q, q, zeros([1, 2, 6, 3], { backend })),
        ShapeError,
        'v',
        '[1,2,6,3]',
      );
      assertThrows(
        () => performerPrefixSum(zeros([2, 7, 4], { backend }), q, q),
        ShapeError,
        '[B,H,T,D]',
        '[2,7,4]',
      );
    });
    test('a disposed tensor cannot be used', async ({ backend }) => {
      const t = tensor([1, 2, 3], [3], { backend });
      const u = tensor([1, 2, 3], [3], { backend });
      t.dispose();
      t.dispose(); // twice is harmless
      assertThrows(() => add(t, u), TensorStateError, 'after dispose');
      assertThrows(() => t.reshape([1, 3]), TensorStateError, 'after dispose');
      let caught: unknown = null;
      await t.data().catch((e: unknown) => {
        caught = e;
      });
      if (!(caught instanceof TensorStateError))
        throw new Error(`data() of a disposed tensor gave ${String(caught)}`);
    });
    test('gather indices out of range (backends with host memory check them)', ({ backend }) => {
      if (!backend.readSync) return;
      const table = zeros([4, 2], { backend });
      const idx = tensor([0, 4], [2], { backend, dtype: 'int32' });
      assertThrows(() => gather(table, idx), ShapeError, 'index 4', '4 rows');
    });
    test('SEA routines check their CSR and mask arguments', async ({ backend }) => {
      const mask = zeros([1, 3, 2, 4], { backend, dtype: 'bool' });
      const rowLen = tensor([1, 2, 3], [1, 3], { backend, dtype: 'int32' });
      const rejects = async (p: Promise<unknown>, ...parts: string[]) => {
        const e = await p.then(
          () => null,
          (err: unknown) => err,
        );
        if (!(e instanceof ShapeError) || parts.some((x) => !e.message.includes(x))) {
          throw new Error(`expected a ShapeError mentioning ${parts.join(', ')}, got ${String(e)}`);
        }
      };
      await rejects(stretchToCsr(mask, rowLen, { k: 0, keys: 3 }), 'k must be a positive integer');
      await rejects(
        stretchToCsr(mask, tensor([1, 2], [1, 2], { backend, dtype: 'int32' }), { k: 2, keys: 3 }),
        '[1,3]',
        '[1,2]',
      );
      const csr = new CsrMatrix(
        tensor([0, 0, 0, 0], [1, 4], { backend, dtype: 'int32' }),
        tensor([], [1, 0], { backend, dtype: 'int32' }),
        2,
        5,
        [0],
      );
      const q = zeros([1, 2, 3, 8], { backend });
      assertThrows(
        () => csrSddmm(csr, q, zeros([1, 3, 5, 8], { backend })),
        ShapeError,
        '[1,2,5,D]',
        '[1,3,5,8]',
      );
      assertThrows(() => csrSddmm(csr, q, zeros([1, 2, 5, 4], { backend })), ShapeError, 'head dims');
    });
    test('a tensor does not fill its shape', ({ backend }) => {
      assertThrows(() => tensor([1, 2, 3], [2, 2], { backend }), ShapeError, '3 values', '[2,2]');
    });
  });
}
