import { cumsum, type DType, type ReduceOp, reduce, tensor } from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { forEachIndex, ints, normal, rngFor, stridesOf, toDType, uniform } from '../data.js';
import type { SuiteContext } from '../suite.js';

interface Reduced {
  want: number[];
  mag: number[];
  outShape: number[];
}

/** Float64 reduction over `axes` by the definition; argmax/argmin keep the first index on ties. */
function reduceRef(op: ReduceOp, xv: ArrayLike<number>, shape: number[], axes: number[]): Reduced {
  const outShape = shape.filter((_, i) => !axes.includes(i));
  const outStrides = stridesOf(outShape);
  const n = outShape.reduce((p, d) => p * d, 1);
  const groups: number[][] = Array.from({ length: n }, () => []);
  forEachIndex(shape, (idx, flat) => {
    let o = 0;
    let k = 0;
    for (let a = 0; a < shape.length; a++) if (!axes.includes(a)) o += idx[a] * outStrides[k++];
    groups[o].push(xv[flat]);
  });
  const want: number[] = [];
  const mag: number[] = [];
  for (const g of groups) {
    const absSum = g.reduce((p, v) => p + Math.abs(v), 0);
    switch (op) {
      case 'sum':
        want.push(g.reduce((p, v) => p + v, 0));
        mag.push(absSum);
        break;
      case 'mean':
        want.push(g.reduce((p, v) => p + v, 0) / g.length);
        mag.push(absSum / g.length);
        break;
      case 'prod':
        want.push(g.reduce((p, v) => p * v, 1));
        mag.push(0);
        break;
      case 'max':
        want.push(Math.max(...g));
        mag.push(0);
        break;
      case 'min':
        want.push(Math.min(...g));
        mag.push(0);
        break;
      case 'argmax':
      case 'argmin': {
        let best = 0;
        for (let i = 1; i < g.length; i++) if (op === 'argmax' ? g[i] > g[best] : g[i] < g[best]) best = i;
        want.push(best);
        mag.push(0);
        break;
      }
    }
  }
  return { want, mag, outShape };
}

const SHAPE = [3, 4, 5];
const AXES = [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]];

function inputFor(op: ReduceOp, rngName: string, shape: number[], dtype: DType): Float64Array {
  const rng = rngFor(rngName);
  if (dtype === 'int32') return op === 'prod' ? ints(rng, shape, -4, 5) : ints(rng, shape, -20, 20);
  if (op === 'prod') return uniform(rng, shape, dtype, 0.6, 1.5);
  // ties for arg ops: coarse values
  if (op === 'argmax' || op === 'argmin') return normal(rng, shape, dtype).map((v) => Math.round(v * 2) / 2);
  return normal(rng, shape, dtype);
}

export function registerReduce(s: SuiteContext): void {
  s.group('reduce', 'reduce', (test) => {
    const dtypes: DType[] = [...s.floatDTypes, ...(s.hasDType('int32') ? (['int32'] as const) : [])];
    for (const dtype of dtypes) {
      for (const op of ['sum', 'mean', 'max', 'min', 'prod'] as const) {
        if (dtype === 'int32' && op === 'mean') continue;
        const axesSets = dtype === 'int32' && op === 'prod' ? [[2]] : AXES;
        for (const axes of axesSets) {
          const title = `${op} ${dtype} [${SHAPE}] axes [${axes}]`;
          test(title, async ({ backend, tol }) => {
            const xv = inputFor(op, title, SHAPE, dtype);
            const ref = reduceRef(op, xv, SHAPE, axes);
            const got = await values(
              reduce(op, tensor(xv, SHAPE, { backend, dtype }), axes),
              ref.outShape,
              dtype,
              title,
            );
            if (dtype === 'int32' || op === 'max' || op === 'min')
              assertEqual(got, ref.want, title, ref.outShape);
            else assertClose(got, ref.want, tol(dtype, 'reduce'), title, ref.outShape, ref.mag);
          });
        }
      }
      for (const op of ['argmax', 'argmin'] as const) {
        for (const axis of [0, 1, 2]) {
          const title = `${op} ${dtype} [${SHAPE}] axis ${axis} (ties → first)`;
          test(title, async ({ backend }) => {
            const xv = inputFor(op, title, SHAPE, dtype);
            const ref = reduceRef(op, xv, SHAPE, [axis]);
            const out = reduce(op, tensor(xv, SHAPE, { backend, dtype }), axis);
            assertEqual(await values(out, ref.outShape, 'int32', title), ref.want, title, ref.outShape);
          });
        }
      }
    }
    for (const dtype of s.floatDTypes) {
      for (const [shape, axes] of [
        [[1000], [0]],
        [[2, 1, 517], [2]],
        [[300, 3], [0]],
        [[3, 2000], [1]],
        [[2000, 3], [0]],
        // a long axis over few outputs, cut into pieces by some backends (CUDA's split reductions)
        [[20000], [0]],
        [[3, 9000], [1]],
        [[600, 2, 40], [0]],
      ] as const) {
        for (const op of ['sum', 'mean', 'max', 'argmin'] as const) {
          const title = `long ${op} ${dtype} [${shape}] axes [${axes}]`;
          test(title, async ({ backend, tol }) => {
            const xv = inputFor(op, title, [...shape], dtype);
            const ref = reduceRef(op, xv, [...shape], [...axes]);
            const out = reduce(op, tensor(xv, shape, { backend, dtype }), axes);
            const outDType = op === 'argmin' ? 'int32' : dtype;
            const got = await values(out, ref.outShape, outDType, title);
            if (op === 'sum' || op === 'mean')
              assertClose(got, ref.want, tol(dtype, 'reduce'), title, ref.outShape, ref.mag);
            else assertEqual(got, ref.want, title, ref.outShape);
          });
        }
      }
      test(`sum over an empty axis is 0 ${dtype}`, async ({ backend }) => {
        const out = reduce('sum', tensor([], [3, 0], { backend, dtype }), 1);
        assertEqual(await values(out, [3], dtype, 'sum'), [0, 0, 0], 'sum of nothing');
      });
      test(`keepDims and negative axes ${dtype}`, async ({ backend, tol }) => {
        const xv = normal(rngFor(`keepDims ${dtype}`), SHAPE, dtype);
        const x = tensor(xv, SHAPE, { backend, dtype });
        const ref = reduceRef('sum', xv, SHAPE, [0, 2]);
        const got = await values(reduce('sum', x, [-1, 0], true), [1, 4, 1], dtype, 'sum keepDims');
        assertClose(got, ref.want, tol(dtype, 'reduce'), 'sum axes [-1,0] keepDims', [1, 4, 1], ref.mag);
      });
    }
  });

  s.group('cumsum', 'cumsum', (test) => {
    const dtypes: DType[] = [...s.floatDTypes, ...(s.hasDType('int32') ? (['int32'] as const) : [])];
    const cases: [number[], number][] = [
      [[3, 5, 4], 0],
      [[3, 5, 4], 1],
      [[3, 5, 4], 2],
      [[1], 0],
      [[2, 257], 1],
      [[1030], 0],
      // a long axis over few lines (chunked scans: about √len rows a chunk, the last one partial)
      [[2, 1500, 3], 1],
      [[1500, 6], 0],
    ];
    for (const dtype of dtypes) {
      for (const [shape, axis] of cases) {
        for (const exclusive of [false, true]) {
          for (const reverse of [false, true]) {
            const title = `${dtype} [${shape}] axis ${axis}${exclusive ? ' exclusive' : ''}${reverse ? ' reverse' : ''}`;
            test(title, async ({ backend, tol }) => {
              const rng = rngFor(title);
              const xv = dtype === 'int32' ? ints(rng, shape, -100, 100) : normal(rng, shape, dtype);
              const want = new Float64Array(xv.length);
              const mag = new Float64Array(xv.length);
              const st = stridesOf(shape);
              const len = shape[axis];
              forEachIndex(shape, (idx, flat) => {
                const base = flat - idx[axis] * st[axis];
                let acc = 0;
                let m = 0;
                for (let j = 0; j < len; j++) {
                  const take = reverse
                    ? exclusive
                      ? j > idx[axis]
                      : j >= idx[axis]
                    : exclusive
                      ? j < idx[axis]
                      : j <= idx[axis];
                  if (take) {
                    acc += xv[base + j * st[axis]];
                    m += Math.abs(xv[base + j * st[axis]]);
                  }
                }
                want[flat] = toDType(acc, dtype === 'int32' ? 'int32' : 'float64');
                mag[flat] = m;
              });
              const x = tensor(xv, shape, { backend, dtype });
              const out = cumsum(x, axis - shape.length, { exclusive, reverse });
              const got = await values(out, shape, dtype, title);
              assertEqual(await x.data(), xv, `${title}: input after the op`, shape);
              if (dtype === 'int32') assertEqual(got, want, title, shape);
              else assertClose(got, want, tol(dtype, 'cumsum'), title, shape, mag);
            });
          }
        }
      }
    }
  });
}
