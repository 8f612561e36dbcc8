import {
  add,
  type Backend,
  CsrMatrix,
  conv2d,
  csrSddmm,
  DeviceError,
  DTypeError,
  gather,
  groupedTopK,
  layerNorm,
  matmul,
  performerPrefixSum,
  runningMeanMix,
  SeaError,
  ShapeError,
  softmax,
  stretchToCsr,
  TensorStateError,
  tensor,
  tidy,
  zeros,
} from '@sea/tensor';
import { assertClose, assertThrows } from '../check.js';
import { normal, rngFor } from '../data.js';
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
      assertThrows(
        () => runningMeanMix(q, zeros([1, 2, 6, 4], { backend }), zeros([1, 2, 7], { backend })),
        ShapeError,
        'v',
        '[1,2,6,4]',
      );
      assertThrows(() => runningMeanMix(q, q, zeros([1, 7, 2], { backend })), ShapeError, 'sMix', '[1,7,2]');
      assertThrows(
        () => runningMeanMix(q, q, zeros([1, 2, 7], { backend, dtype: 'int32' })),
        DTypeError,
        'sMix',
        'int32',
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
    // Error paths give every buffer back: the level before the failing computation is the level after.
    const sameLevel = async (backend: Backend, before: { bytes: number; buffers: number }, what: string) => {
      await backend.sync();
      const after = backend.memory();
      if (after.bytes !== before.bytes || after.buffers !== before.buffers)
        throw new Error(
          `${what}: memory went from ${before.bytes} bytes in ${before.buffers} buffers to ${after.bytes} in ${after.buffers}`,
        );
    };
    test('a shape error midway through a computation leaves memory at its earlier level', async ({
      backend,
    }) => {
      await backend.sync();
      const before = backend.memory();
      const rng = rngFor('error midway');
      let caught: unknown = null;
      try {
        tidy(() => {
          const a = tensor(normal(rng, [8, 16], 'float32'), [8, 16], { backend, dtype: 'float32' });
          const b = matmul(
            a,
            tensor(normal(rng, [16, 4], 'float32'), [16, 4], { backend, dtype: 'float32' }),
          );
          const c = softmax(add(b, 1));
          return matmul(c, a); // [8,4]·[8,16]: the inner dimensions differ
        });
      } catch (e) {
        caught = e;
      }
      if (!(caught instanceof ShapeError) || !caught.message.includes('[8,4]'))
        throw new Error(`expected a ShapeError naming [8,4], got ${String(caught)}`);
      await sameLevel(backend, before, 'after a ShapeError inside tidy');
    });
    test('an allocation too large for the device is a DeviceError; memory and the backend are unharmed', async ({
      backend,
    }) => {
      await backend.sync();
      const before = backend.memory();
      const keep = tensor([1, 2, 3], [3], { backend });
      const level = backend.memory();
      // 2^40 float32 values (4 TiB) as a matrix and as a 3-d shape: more than any host or device
      // holds (an H200 has 141 GB, so 2^33 values would fit and must not be used here)
      for (const shape of [
        [2 ** 20, 2 ** 20],
        [2 ** 16, 2 ** 16, 2 ** 8],
      ]) {
        let caught: unknown = null;
        try {
          tidy(() => add(zeros(shape, { backend }), 1));
        } catch (e) {
          caught = e;
        }
        if (
          !(caught instanceof DeviceError) &&
          !(caught instanceof SeaError && /size|large|bytes|limit/i.test(caught.message))
        )
          throw new Error(
            `an allocation of [${shape}] float32 gave ${caught === null ? 'no error' : String(caught)}`,
          );
        await sameLevel(backend, level, `after a failed [${shape}] allocation`);
      }
      // the backend still computes
      const y = add(keep, keep);
      assertClose(await y.data(), [2, 4, 6], { rtol: 0, atol: 0 }, 'a + a after the failed allocations', [3]);
      y.dispose();
      keep.dispose();
      await sameLevel(backend, before, 'at the end');
    });
    test('a tensor does not fill its shape', ({ backend }) => {
      assertThrows(() => tensor([1, 2, 3], [2, 2], { backend }), ShapeError, '3 values', '[2,2]');
    });
  });
}
