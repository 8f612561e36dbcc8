import { type DType, matmul, tensor } from '@sea/tensor';
import { assertClose, values } from '../check.js';
import { broadcast, broadcastOffset, forEachIndex, normal, rngFor } from '../data.js';
import type { SuiteContext } from '../suite.js';

interface MatmulCase {
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

// Shapes as stored (already transposed where trans* is set).
const CASES: MatmulCase[] = [
  { a: [1, 1], b: [1, 1] },
  { a: [7, 13], b: [13, 5] },
  { a: [65, 33], b: [33, 17] },
  { a: [33, 65], b: [33, 17], transA: true },
  { a: [65, 33], b: [17, 33], transB: true },
  { a: [33, 65], b: [17, 33], transA: true, transB: true },
  { a: [2, 3, 9, 11], b: [3, 11, 4] },
  { a: [2, 1, 6, 10], b: [4, 6, 3], transA: true },
  { a: [3, 5, 7], b: [2, 1, 5, 7], transB: true },
  { a: [1, 1, 4, 130], b: [130, 1] },
  { a: [4, 1, 129], b: [4, 129, 3] },
  // past one kernel block: several M, N and K tiles with ragged edges, broadcast batches
  { a: [2, 1, 37, 301], b: [3, 301, 19] },
  { a: [2, 1, 301, 37], b: [3, 19, 301], transA: true, transB: true },
  { a: [70, 300], b: [300, 1030] },
  { a: [2, 132, 72], b: [2, 136, 72], transB: true },
  { a: [72, 132], b: [72, 200], transA: true },
  { a: [260, 68], b: [68, 132] },
];

/** Float64 C[..., i, j] = Σ_k A[..., i, k]·B[..., k, j], plus Σ|terms| as the error scale. */
function reference(c: MatmulCase, av: Float64Array, bv: Float64Array) {
  const ra = c.a.length;
  const rb = c.b.length;
  const [m, ka] = c.transA ? [c.a[ra - 1], c.a[ra - 2]] : [c.a[ra - 2], c.a[ra - 1]];
  const n = c.transB ? c.b[rb - 2] : c.b[rb - 1];
  const batchA = c.a.slice(0, -2);
  const batchB = c.b.slice(0, -2);
  const batch = broadcast(batchA, batchB);
  const outShape = [...batch, m, n];
  const want = new Float64Array(outShape.reduce((p, d) => p * d, 1));
  const mag = new Float64Array(want.length);
  let o = 0;
  forEachIndex(batch, (idx) => {
    const offA = broadcastOffset(idx, batchA, batch) * m * ka;
    const offB = broadcastOffset(idx, batchB, batch) * ka * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let g = 0;
        for (let k = 0; k < ka; k++) {
          const x = av[offA + (c.transA ? k * m + i : i * ka + k)];
          const y = bv[offB + (c.transB ? j * ka + k : k * n + j)];
          s += x * y;
          g += Math.abs(x * y);
        }
        want[o] = s;
        mag[o++] = g;
      }
    }
  });
  return { want, mag, outShape };
}

export function registerMatmul(s: SuiteContext): void {
  s.group('matmul', 'matmul', (test) => {
    for (const dtype of s.floatDTypes) {
      for (const c of CASES) {
        const title = `${dtype} a[${c.a}]${c.transA ? 'ᵀ' : ''} × b[${c.b}]${c.transB ? 'ᵀ' : ''}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const av = normal(rng, c.a, dtype);
          const bv = normal(rng, c.b, dtype);
          const a = tensor(av, c.a, { backend, dtype });
          const b = tensor(bv, c.b, { backend, dtype });
          const out = matmul(a, b, { transA: c.transA, transB: c.transB });
          const { want, mag, outShape } = reference(c, av, bv);
          assertClose(
            await values(out, outShape, dtype, title),
            want,
            tol(dtype, 'matmul'),
            title,
            outShape,
            mag,
          );
        });
      }
      test(`${dtype} empty inner dimension gives zeros`, async ({ backend }) => {
        const out = matmul(tensor([], [3, 0], { backend, dtype }), tensor([], [0, 4], { backend, dtype }));
        assertClose(
          await values(out, [3, 4], dtype, 'matmul'),
          new Array(12).fill(0),
          { rtol: 0, atol: 0 },
          'K = 0',
        );
      });
      test(`${dtype} inputs unchanged and output fresh`, async ({ backend }) => {
        const av = [1, 2, 3, 4, 5, 6];
        const a = tensor(av, [2, 3], { backend, dtype: dtype as DType });
        const b = tensor([1, 0, 0, 1, 1, 1], [3, 2], { backend, dtype });
        const out = matmul(a, b);
        assertClose(
          await values(out, [2, 2], dtype, 'matmul'),
          [4, 5, 10, 11],
          { rtol: 0, atol: 0 },
          'small exact',
        );
        assertClose(await a.data(), av, { rtol: 0, atol: 0 }, 'a after matmul');
      });
    }
  });
}
