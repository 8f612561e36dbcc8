import { type DType, groupedTopK, performerPrefixSum, runningMeanMix, tensor } from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { normal, rngFor, roundAll, uniform } from '../data.js';
import type { SuiteContext } from '../suite.js';

/**
 * Quadratic masked form of the causal Performer (docs/algorithm.md §3): out_t = Σ_{j≤t} (φq_t·φk_j) v_j /
 * (Σ_{j≤t} φq_t·φk_j + eps·Σ_m φq_t,m). Given |v| it gives each output's error scale.
 */
function prefixSumRef(
  qf: Float64Array,
  kf: Float64Array,
  v: Float64Array,
  [B, H, T, M]: number[],
  E: number,
  eps: number,
) {
  const want = new Float64Array(B * H * T * E);
  for (let bh = 0; bh < B * H; bh++) {
    for (let t = 0; t < T; t++) {
      const q = (bh * T + t) * M;
      let den = 0;
      for (let m = 0; m < M; m++) den += eps * qf[q + m];
      const num = new Float64Array(E);
      for (let j = 0; j <= t; j++) {
        let w = 0;
        for (let m = 0; m < M; m++) w += qf[q + m] * kf[(bh * T + j) * M + m];
        den += w;
        for (let e = 0; e < E; e++) {
          num[e] += w * v[(bh * T + j) * E + e];
        }
      }
      for (let e = 0; e < E; e++) {
        want[(bh * T + t) * E + e] = num[e] / den;
      }
    }
  }
  return want;
}

/** Selected flags of each group: the min(max(b,0),N) largest scores, lower index first on ties. */
function topKRef(scores: ArrayLike<number>, G: number, N: number, budgets: number[]): number[] {
  const out = new Array<number>(G * N).fill(0);
  for (let g = 0; g < G; g++) {
    const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => {
      const d = scores[g * N + b] - scores[g * N + a];
      if (d !== 0 && !Number.isNaN(d)) return d;
      return a - b;
    });
    const keep = Math.min(Math.max(budgets[g], 0), N);
    for (let r = 0; r < keep; r++) out[g * N + order[r]] = 1;
  }
  return out;
}

/** float32 titles (and so seeds) stay as they were; other dtypes are named first. */
export function dtypeTag(dtype: DType): string {
  return dtype === 'float32' ? '' : `${dtype} `;
}

export function registerSeaEstimate(s: SuiteContext): void {
  s.group('performerPrefixSum', 'performerPrefixSum', (test) => {
    const cases: [number[], number, number][] = [
      [[2, 3, 13, 5], 4, 1e-6],
      [[1, 1, 1, 3], 2, 1e-6],
      [[1, 2, 300, 16], 8, 1e-6],
      [[2, 1, 129, 33], 7, 1e-6],
      [[2, 1, 20, 130], 64, 1e-6],
      [[1, 3, 300, 33], 128, 1e-6],
      [[1, 2, 61, 70], 10, 1e-6],
      [[1, 2, 9, 4], 3, 0.5],
      [[1, 2, 200, 33], 128, 1e-6],
      [[1, 1, 70, 40], 100, 1e-6],
    ];
    for (const dtype of s.seaDTypes)
      for (const [shape, E, eps] of cases) {
        const title = `${dtypeTag(dtype)}qf[${shape}] v[…,${E}] eps ${eps}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          // ReLU features + 0.001 (docs/algorithm.md §3): non-negative, some exactly at the floor
          const feat = () =>
            roundAll(
              uniform(rng, shape, 'float32', -0.5, 1).map((x) => Math.fround(Math.max(x, 0) + 0.001)),
              dtype,
            );
          const qf = feat();
          const kf = feat();
          const vs = [...shape.slice(0, 3), E];
          const v = normal(rng, vs, dtype);
          const out = performerPrefixSum(
            tensor(qf, shape, { backend, dtype }),
            tensor(kf, shape, { backend, dtype }),
            tensor(v, vs, { backend, dtype }),
            eps,
          );
          const want = prefixSumRef(qf, kf, v, shape, E, eps);
          const mag = prefixSumRef(qf, kf, v.map(Math.abs), shape, E, eps);
          // prefix sums over T steps: float32 error grows with √T
          const t = tol(dtype, 'performerPrefixSum', Math.max(2, Math.sqrt(shape[2])));
          assertClose(await values(out, vs, dtype, title), want, t, title, vs, mag);
        });
      }
  });

  s.group('runningMeanMix', 'runningMeanMix (causal C_avg and the s_mix blend, heads merged)', (test) => {
    // [B, H, T, E]: one row, odd widths, several chunks of T, chunks of a long T
    const cases: number[][] = [
      [2, 3, 13, 5],
      [1, 1, 1, 3],
      [1, 2, 300, 16],
      [1, 2, 1100, 7],
      [2, 2, 4100, 64],
    ];
    for (const dtype of s.seaDTypes)
      for (const shape of cases) {
        const title = `${dtypeTag(dtype)}[${shape}]`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const [B, H, T, E] = shape;
          const local = normal(rng, shape, dtype);
          const v = normal(rng, shape, dtype);
          const sm = uniform(rng, [B, H, T], dtype, 0, 1);
          const out = runningMeanMix(
            tensor(local, shape, { backend, dtype }),
            tensor(v, shape, { backend, dtype }),
            tensor(sm, [B, H, T], { backend, dtype }),
          );
          // docs/algorithm.md §7.5–§7.6 in float64: s·local + (1 − s)·mean of v over 0..t, heads merged
          const os = [B, T, H * E];
          const want = new Float64Array(B * T * H * E);
          const mag = new Float64Array(want.length);
          for (let b = 0; b < B; b++)
            for (let h = 0; h < H; h++)
              for (let e = 0; e < E; e++) {
                let sum = 0;
                let abs = 0;
                for (let t = 0; t < T; t++) {
                  const at = ((b * H + h) * T + t) * E + e;
                  sum += v[at];
                  abs += Math.abs(v[at]);
                  const sv = sm[(b * H + h) * T + t];
                  const o = (b * T + t) * H * E + h * E + e;
                  want[o] = sv * local[at] + (1 - sv) * (sum / (t + 1));
                  mag[o] = Math.abs(sv * local[at]) + Math.abs(1 - sv) * (abs / (t + 1));
                }
              }
          // a running sum over T steps: float32 error grows with √T
          const t = tol(dtype, 'runningMeanMix', Math.max(2, Math.sqrt(T)));
          assertClose(await values(out, os, dtype, title), want, t, title, os, mag);
        });
      }
  });

  s.group('groupedTopK', 'groupedTopK', (test) => {
    const cases: [number, number, number[], string][] = [
      [4, 10, [0, 3, 10, 15], 'budgets 0, 3, N, > N'],
      [6, 257, [-2, 1, 128, 256, 257, 1000], 'negative budget, odd N'],
      [1, 1, [1], 'single cell'],
      [3, 4096, [100, 2048, 4000], 'long groups'],
      [5, 64, [7, 7, 7, 7, 7], 'equal budgets'],
      [3, 2000, [1, 24, 1999], 'groups of 2000'],
      [2, 3072, [24, 700], 'groups of H·K = 3072 (the SEA layer)'],
      [2, 5000, [10, 4999], 'groups longer than 4096'],
    ];
    for (const dtype of s.seaDTypes)
      for (const [G, N, budgets, note] of cases) {
        const title = `${dtypeTag(dtype)}[${G},${N}] ${note}`;
        test(title, async ({ backend }) => {
          // quarter steps: many ties, which must go to the lower index (exact in every dtype)
          const sv = normal(rngFor(title), [G, N], 'float32').map((x) => Math.round(x * 4) / 4);
          const out = groupedTopK(
            tensor(sv, [G, N], { backend, dtype }),
            tensor(budgets, [G], { backend, dtype: 'int32' }),
          );
          assertEqual(await values(out, [G, N], 'bool', title), topKRef(sv, G, N, budgets), title, [G, N]);
        });
      }
    test('all-equal and −∞ scores: lower index first', async ({ backend }) => {
      const N = 9;
      const inf = Number.NEGATIVE_INFINITY;
      const sv = [
        ...new Array(N).fill(0.5),
        ...[inf, 1, inf, inf, 2, inf, 0, inf, inf],
        ...new Array(N).fill(inf),
      ];
      const budgets = [4, 5, 3];
      const out = groupedTopK(
        tensor(sv, [3, N], { backend, dtype: 'float32' }),
        tensor(budgets, [3], { backend, dtype: 'int32' }),
      );
      const want = [
        ...[1, 1, 1, 1, 0, 0, 0, 0, 0],
        ...[1, 1, 1, 0, 1, 0, 1, 0, 0],
        ...[1, 1, 1, 0, 0, 0, 0, 0, 0],
      ];
      assertEqual(await values(out, [3, N], 'bool', 'ties'), want, 'ties', [3, N]);
      assertEqual(topKRef(sv, 3, N, budgets), want, 'reference self-check');
    });
  });
}
