import { layerNorm, logSoftmax, softmax, tensor } from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { broadcastOffset, forEachIndex, normal, rngFor, toDType } from '../data.js';
import { geluErf } from '../reference.js';
import type { SuiteContext } from '../suite.js';

const NEG_INF = Number.NEGATIVE_INFINITY;
const eps5 = 1e-5;

/** Softmax of each last-axis row of x + mask (mask broadcast); an all −∞ row gives zeros. */
function softmaxRef(
  xv: ArrayLike<number>,
  shape: number[],
  mv: ArrayLike<number> | null,
  ms: number[],
): number[] {
  const n = shape[shape.length - 1];
  const z: number[] = [];
  forEachIndex(shape, (idx, flat) => {
    z.push(xv[flat] + (mv ? mv[broadcastOffset(idx, ms, shape)] : 0));
  });
  const out: number[] = [];
  for (let r = 0; r < z.length; r += n) {
    const row = z.slice(r, r + n);
    const m = Math.max(...row);
    if (m === NEG_INF) {
      out.push(...row.map(() => 0));
      continue;
    }
    const e = row.map((v) => Math.exp(v - m));
    const sum = e.reduce((p, v) => p + v, 0);
    out.push(...e.map((v) => v / sum));
  }
  return out;
}

function logSoftmaxRef(xv: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < xv.length; r += n) {
    const row = Array.from({ length: n }, (_, i) => xv[r + i]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((p, v) => p + Math.exp(v - m), 0));
    out.push(...row.map((v) => v - lse));
  }
  return out;
}

export function registerNormalization(s: SuiteContext): void {
  s.group('softmax', 'softmax', (test) => {
    // [x shape, mask shape or null, fraction of −∞ in the mask]
    const cases: [number[], number[] | null][] = [
      [[2, 3, 7], null],
      [
        [2, 3, 7],
        [3, 7],
      ],
      [
        [2, 3, 7],
        [2, 1, 7],
      ],
      [[2, 3, 7], [7]],
      [[5, 1], null],
      [
        [4, 1000],
        [1, 1000],
      ],
      [
        [3, 2, 65],
        [3, 1, 65],
      ],
    ];
    for (const dtype of s.floatDTypes) {
      for (const [shape, ms] of cases) {
        const title = `${dtype} x[${shape}]${ms ? ` mask[${ms}]` : ''}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const xv = normal(rng, shape, dtype, 3);
          const mv = ms ? normal(rng, ms, dtype).map((v) => (rng.uniform() < 0.3 ? NEG_INF : v)) : null;
          const x = tensor(xv, shape, { backend, dtype });
          const out = softmax(x, mv && ms ? tensor(mv, ms, { backend, dtype }) : null);
          const want = softmaxRef(xv, shape, mv, ms ?? []);
          assertClose(await values(out, shape, dtype, title), want, tol(dtype, 'softmax'), title, shape);
          assertEqual(await x.data(), xv, `${title}: input after the op`, shape);
        });
      }
      test(`fully masked rows give zeros ${dtype}`, async ({ backend, tol }) => {
        const shape = [3, 4, 6];
        const rng = rngFor(`fully masked ${dtype}`);
        const xv = normal(rng, shape, dtype);
        const mv = new Float64Array(4 * 6);
        for (let j = 0; j < 6; j++) {
          mv[1 * 6 + j] = NEG_INF; // row 1 of the mask: every key masked
          mv[2 * 6 + j] = j === 4 ? 0 : NEG_INF; // row 2: a single key left
        }
        // and an x row that is itself all −∞, with no mask help
        for (let j = 0; j < 6; j++) xv[2 * 24 + 3 * 6 + j] = NEG_INF;
        const out = softmax(tensor(xv, shape, { backend, dtype }), tensor(mv, [4, 6], { backend, dtype }));
        const got = await values(out, shape, dtype, 'masked softmax');
        const want = softmaxRef(xv, shape, mv, [4, 6]);
        assertClose(got, want, tol(dtype, 'softmax'), 'fully masked rows', shape);
      });
      test(`large logits are stable ${dtype}`, async ({ backend, tol }) => {
        const xv = [1000, 999, 998, -1000, 0, 88, 89, 90, 1e30, -1e30].map((v) => toDType(v, dtype));
        const shape = [1, 10];
        const out = softmax(tensor(xv, shape, { backend, dtype }));
        assertClose(
          await values(out, shape, dtype, 'softmax'),
          softmaxRef(xv, shape, null, []),
          tol(dtype, 'softmax'),
          'large',
        );
      });
    }
  });

  s.group('logSoftmax', 'logSoftmax', (test) => {
    for (const dtype of s.floatDTypes) {
      for (const shape of [
        [4, 9],
        [2, 3, 1],
        [3, 600],
      ]) {
        for (const offset of [0, 500]) {
          const title = `${dtype} [${shape}] offset ${offset}`;
          test(title, async ({ backend, tol }) => {
            const xv = normal(rngFor(title), shape, dtype, 3, offset);
            const out = logSoftmax(tensor(xv, shape, { backend, dtype }));
            const want = logSoftmaxRef(xv, shape[shape.length - 1]);
            // log-probabilities near 0 inherit the absolute error of the log-sum-exp
            const t = tol(dtype, 'logSoftmax');
            assertClose(
              await values(out, shape, dtype, title),
              want,
              { rtol: t.rtol, atol: t.atol * 10 },
              title,
              shape,
            );
          });
        }
      }
    }
  });

  s.group('layerNorm', 'layerNorm', (test) => {
    for (const dtype of s.floatDTypes) {
      const cases: [number[], number, number][] = [
        [[2, 5, 17], 1e-5, 0],
        [[3, 1], 1e-5, 0],
        [[4, 768], 1e-5, 0],
        [[6, 33], 0.1, 0],
        [[5, 64], 1e-5, 1000],
      ];
      for (const [shape, eps, offset] of cases) {
        const title = `${dtype} [${shape}] eps ${eps}${offset ? ` mean offset ${offset}` : ''}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const n = shape[shape.length - 1];
          const xv = normal(rng, shape, dtype, 1, offset);
          const g = normal(rng, [n], dtype, 1, 1);
          const b = normal(rng, [n], dtype);
          const out = layerNorm(
            tensor(xv, shape, { backend, dtype }),
            tensor(g, [n], { backend, dtype }),
            tensor(b, [n], { backend, dtype }),
            eps,
          );
          const want: number[] = [];
          const mag: number[] = [];
          for (let r = 0; r < xv.length; r += n) {
            const row = Array.from({ length: n }, (_, i) => xv[r + i]);
            const mean = row.reduce((p, v) => p + v, 0) / n;
            const v = row.reduce((p, x) => p + (x - mean) ** 2, 0) / n;
            row.forEach((x, i) => {
              want.push(((x - mean) / Math.sqrt(v + eps)) * g[i] + b[i]);
              // float32 cannot hold x − mean better than ulp(offset); scale the tolerance by it
              mag.push((Math.abs(g[i]) * (1 + Math.abs(offset))) / Math.sqrt(v + eps));
            });
          }
          const t = tol(dtype, 'layerNorm', 4);
          assertClose(await values(out, shape, dtype, title), want, t, title, shape, mag);
        });
      }
      // with the exact GELU fused into the store: rows through every kernel shape (short, long, many)
      for (const shape of [
        [2, 5, 17],
        [4, 768],
        [7, 128],
        [4100, 64],
      ]) {
        const title = `${dtype} [${shape}] activation gelu`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const n = shape[shape.length - 1];
          const xv = normal(rng, shape, dtype, 1, 0.5);
          const g = normal(rng, [n], dtype, 1, 1);
          const b = normal(rng, [n], dtype);
          const out = layerNorm(
            tensor(xv, shape, { backend, dtype }),
            tensor(g, [n], { backend, dtype }),
            tensor(b, [n], { backend, dtype }),
            1e-5,
            { activation: 'gelu' },
          );
          const want: number[] = [];
          const mag: number[] = [];
          for (let r = 0; r < xv.length; r += n) {
            const row = Array.from({ length: n }, (_, i) => xv[r + i]);
            const mean = row.reduce((p, v) => p + v, 0) / n;
            const v = row.reduce((p, x) => p + (x - mean) ** 2, 0) / n;
            row.forEach((x, i) => {
              const y = ((x - mean) / Math.sqrt(v + eps5)) * g[i] + b[i];
              want.push(geluErf(y));
              // |GELU'| < 1.13: the LayerNorm's error scale passes through, plus GELU's own
              mag.push((1.13 * Math.abs(g[i]) * 1.5) / Math.sqrt(v + eps5) + Math.abs(geluErf(y)));
            });
          }
          assertClose(
            await values(out, shape, dtype, title),
            want,
            tol(dtype, 'layerNorm', 4),
            title,
            shape,
            mag,
          );
        });
      }
      test(`constant rows give beta ${dtype}`, async ({ backend, tol }) => {
        // 3.25·8 sums exactly, so the mean is exact in any summation order
        const n = 8;
        const xv = new Float64Array(2 * n).fill(3.25);
        const b = normal(rngFor(`constant ${dtype}`), [n], dtype);
        const out = layerNorm(
          tensor(xv, [2, n], { backend, dtype }),
          tensor(new Float64Array(n).fill(2), [n], { backend, dtype }),
          tensor(b, [n], { backend, dtype }),
          1e-5,
        );
        const want = [...b, ...b];
        assertClose(
          await values(out, [2, n], dtype, 'layerNorm'),
          want,
          tol(dtype, 'layerNorm', 10),
          'constant rows',
        );
      });
    }
  });
}
