import { linear, tensor } from '@sea/tensor';
import { assertClose, values } from '../check.js';
import { normal, rngFor } from '../data.js';
import type { SuiteContext } from '../suite.js';

/** Float64 y = act(x·wᵀ + bias) + residual, and Σ|terms| per output as its error scale. */
function reference(
  xv: Float64Array,
  wv: Float64Array,
  bv: Float64Array | null,
  rv: Float64Array | null,
  M: number,
  N: number,
  K: number,
  relu: boolean,
): { want: Float64Array; mag: Float64Array } {
  const want = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bv ? bv[j] : 0;
      let g = bv ? Math.abs(bv[j]) : 0;
      for (let k = 0; k < K; k++) {
        s += xv[i * K + k] * wv[j * K + k];
        g += Math.abs(xv[i * K + k] * wv[j * K + k]);
      }
      if (relu) s = Math.max(s, 0);
      if (rv) {
        s += rv[i * N + j];
        g += Math.abs(rv[i * N + j]);
      }
      want[i * N + j] = s;
      mag[i * N + j] = g;
    }
  }
  return { want, mag };
}

/**
 * The `linear` op with bias, ReLU and residual: a backend's fused GEMM epilogue where it has the
 * capability, matmul + add + relu elsewhere; either must match the float64 definition.
 */
export function registerLinear(s: SuiteContext): void {
  s.group('linear', 'linear (fused capability or composition)', (test) => {
    // [lead dims of x], N (out), K (in), bias, relu, residual
    const cases: [number[], number, number, boolean, boolean, boolean][] = [
      [[7], 5, 13, true, false, false],
      [[2, 33], 17, 65, true, true, false],
      [[65], 96, 64, true, false, true],
      [[3, 11], 20, 8, false, false, true],
      [[1, 130], 36, 48, true, true, true],
      [[129], 1, 3, false, true, false],
      [[4, 2, 9], 12, 16, false, false, false],
    ];
    for (const dtype of s.floatDTypes) {
      for (const [lead, N, K, hasBias, relu, hasRes] of cases) {
        const M = lead.reduce((a, b) => a * b, 1);
        const title = `${dtype} x[${lead},${K}] w[${N},${K}]${hasBias ? ' +bias' : ''}${relu ? ' relu' : ''}${hasRes ? ' +residual' : ''}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const xv = normal(rng, [M, K], dtype);
          const wv = normal(rng, [N, K], dtype);
          const bv = hasBias ? normal(rng, [N], dtype) : null;
          const rv = hasRes ? normal(rng, [M, N], dtype) : null;
          const shape = [...lead, N];
          const out = linear(
            tensor(xv, [...lead, K], { backend, dtype }),
            tensor(wv, [N, K], { backend, dtype }),
            bv ? tensor(bv, [N], { backend, dtype }) : null,
            {
              activation: relu ? 'relu' : null,
              residual: rv ? tensor(rv, shape, { backend, dtype }) : null,
            },
          );
          const { want, mag } = reference(xv, wv, bv, rv, M, N, K, relu);
          assertClose(await values(out, shape, dtype, title), want, tol(dtype, 'matmul'), title, shape, mag);
        });
      }
    }
  });
}
