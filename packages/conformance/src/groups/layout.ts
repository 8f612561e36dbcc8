import {
  arange,
  concat,
  type DType,
  full,
  gather,
  pad,
  type Rng,
  slice,
  takeAlong,
  tensor,
  transpose,
  writeSlice,
  zeros,
} from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { bools, forEachIndex, ints, normal, rngFor, stridesOf, toDType } from '../data.js';
import type { SuiteContext } from '../suite.js';

function anyValues(rng: Rng, shape: readonly number[], dtype: DType): Float64Array {
  if (dtype === 'bool') return bools(rng, shape);
  if (dtype === 'int32') return ints(rng, shape, -1000, 1000);
  return normal(rng, shape, dtype);
}

export function registerLayout(s: SuiteContext): void {
  const dtypes = (['float32', 'float64', 'int32', 'bool'] as const).filter(
    (d) => s.hasDType(d) && (s.floatDTypes.includes(d) || d === 'int32' || d === 'bool'),
  );

  s.group('gather', 'gather', (test) => {
    const cases: [number[], number[]][] = [
      [
        [11, 3, 2],
        [2, 5],
      ],
      [[7], [4]],
      [[5, 4], []],
      [
        [1, 6],
        [3, 1],
      ],
      [[300, 17], [9]],
    ];
    for (const dtype of dtypes) {
      for (const [ts, is] of cases) {
        const title = `${dtype} table[${ts}] indices[${is}]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const tv = anyValues(rng, ts, dtype);
          const iv = ints(rng, is, 0, ts[0]);
          if (iv.length > 1) {
            iv[0] = 0;
            iv[iv.length - 1] = ts[0] - 1;
          }
          const rest = ts.slice(1).reduce((p, d) => p * d, 1);
          const want: number[] = [];
          for (const i of iv) for (let r = 0; r < rest; r++) want.push(tv[i * rest + r]);
          const outShape = [...is, ...ts.slice(1)];
          const out = gather(tensor(tv, ts, { backend, dtype }), tensor(iv, is, { backend, dtype: 'int32' }));
          assertEqual(await values(out, outShape, dtype, title), want, title, outShape);
        });
      }
    }
  });

  s.group('takeAlong', 'takeAlong', (test) => {
    const cases: [number[], number[]][] = [
      [
        [3, 4, 9],
        [3, 4, 5],
      ],
      [[6], [10]],
      [
        [2, 1],
        [2, 3],
      ],
      [
        [5, 130],
        [5, 64],
      ],
    ];
    for (const dtype of dtypes) {
      for (const [xs, is] of cases) {
        const title = `${dtype} x[${xs}] indices[${is}]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const xv = anyValues(rng, xs, dtype);
          const n = xs[xs.length - 1];
          const m = is[is.length - 1];
          const iv = ints(rng, is, 0, n);
          const want: number[] = [];
          for (let i = 0; i < iv.length; i++) want.push(xv[Math.floor(i / m) * n + iv[i]]);
          const out = takeAlong(
            tensor(xv, xs, { backend, dtype }),
            tensor(iv, is, { backend, dtype: 'int32' }),
          );
          assertEqual(await values(out, is, dtype, title), want, title, is);
        });
      }
    }
  });

  s.group('transpose', 'transpose', (test) => {
    const cases: [number[], number[]][] = [
      [
        [2, 3, 4, 5],
        [0, 1, 2, 3],
      ],
      [
        [2, 3, 4, 5],
        [3, 2, 1, 0],
      ],
      [
        [2, 3, 4, 5],
        [0, 2, 1, 3],
      ],
      [
        [2, 3, 4, 5],
        [1, 3, 0, 2],
      ],
      [
        [7, 1],
        [1, 0],
      ],
      [[9], [0]],
      [
        [33, 65],
        [1, 0],
      ],
      [
        [1, 12, 7, 16],
        [0, 2, 1, 3],
      ],
    ];
    for (const dtype of dtypes) {
      for (const [xs, perm] of cases) {
        const title = `${dtype} [${xs}] perm [${perm}]`;
        test(title, async ({ backend }) => {
          const xv = anyValues(rngFor(title), xs, dtype);
          const outShape = perm.map((p) => xs[p]);
          const st = stridesOf(xs);
          const want: number[] = [];
          forEachIndex(outShape, (idx) => {
            let off = 0;
            perm.forEach((p, i) => {
              off += idx[i] * st[p];
            });
            want.push(xv[off]);
          });
          const out = transpose(tensor(xv, xs, { backend, dtype }), perm);
          assertEqual(await values(out, outShape, dtype, title), want, title, outShape);
        });
      }
    }
  });

  s.group('slice', 'slice', (test) => {
    const cases: [number[], number[], number[]][] = [
      [
        [4, 5, 6],
        [1, 0, 2],
        [2, 5, 3],
      ],
      [
        [4, 5, 6],
        [3, 4, 5],
        [1, 1, 1],
      ],
      [
        [4, 5, 6],
        [0, 0, 0],
        [4, 5, 6],
      ],
      [
        [7, 13],
        [2, 3],
        [4, -1],
      ],
      [[17], [5], [11]],
      [
        [3, 5, 16],
        [1, 0, 4],
        [2, 5, 8],
      ],
    ];
    for (const dtype of dtypes) {
      for (const [xs, begin, size] of cases) {
        const title = `${dtype} [${xs}] begin [${begin}] size [${size}]`;
        test(title, async ({ backend }) => {
          const xv = anyValues(rngFor(title), xs, dtype);
          const sz = size.map((d, i) => (d === -1 ? xs[i] - begin[i] : d));
          const st = stridesOf(xs);
          const want: number[] = [];
          forEachIndex(sz, (idx) => {
            want.push(xv[idx.reduce((p, v, i) => p + (v + begin[i]) * st[i], 0)]);
          });
          const out = slice(tensor(xv, xs, { backend, dtype }), begin, size);
          assertEqual(await values(out, sz, dtype, title), want, title, sz);
        });
      }
    }
    test('empty slice', async ({ backend }) => {
      const x = tensor(normal(rngFor('empty slice'), [3, 4], 'float32'), [3, 4], {
        backend,
        dtype: 'float32',
      });
      const out = slice(x, [1, 2], [0, 2]);
      assertEqual(await values(out, [0, 2], 'float32', 'empty slice'), [], 'empty slice');
    });
  });

  s.group('concat', 'concat', (test) => {
    const cases: [number[][], number][] = [
      [
        [
          [2, 3, 4],
          [1, 3, 4],
          [3, 3, 4],
        ],
        0,
      ],
      [
        [
          [2, 3, 4],
          [2, 1, 4],
          [2, 5, 4],
        ],
        1,
      ],
      [
        [
          [2, 3, 4],
          [2, 3, 7],
        ],
        -1,
      ],
      [[[5, 2]], 0],
      [[[3], [9], [1], [2]], 0],
      [
        [
          [2, 3, 8],
          [2, 3, 4],
        ],
        -1,
      ],
      // five inputs (more than one launch takes on CUDA), odd widths
      [
        [
          [2, 1, 3],
          [2, 2, 3],
          [2, 3, 3],
          [2, 1, 3],
          [2, 5, 3],
        ],
        1,
      ],
      // the estimator's [C_perf ; V] shape, rows past one block
      [
        [
          [1, 3, 70, 64],
          [1, 3, 70, 64],
        ],
        -1,
      ],
    ];
    for (const dtype of dtypes) {
      for (const [shapes, axisIn] of cases) {
        const title = `${dtype} ${shapes.map((x) => `[${x}]`).join(' ')} axis ${axisIn}`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const axis = axisIn < 0 ? axisIn + shapes[0].length : axisIn;
          const vals = shapes.map((sh) => anyValues(rng, sh, dtype));
          const outShape = [...shapes[0]];
          outShape[axis] = shapes.reduce((p, sh) => p + sh[axis], 0);
          const want: number[] = [];
          forEachIndex(outShape, (idx) => {
            let k = idx[axis];
            let part = 0;
            while (k >= shapes[part][axis]) k -= shapes[part++][axis];
            const st = stridesOf(shapes[part]);
            want.push(vals[part][idx.reduce((p, v, i) => p + (i === axis ? k : v) * st[i], 0)]);
          });
          const out = concat(
            shapes.map((sh, i) => tensor(vals[i], sh, { backend, dtype })),
            axisIn,
          );
          assertEqual(await values(out, outShape, dtype, title), want, title, outShape);
        });
      }
    }
  });

  s.group('pad', 'pad', (test) => {
    const cases: [number[], [number, number][], number][] = [
      [
        [3, 4],
        [
          [1, 2],
          [0, 3],
        ],
        0,
      ],
      [
        [2, 3, 4],
        [
          [0, 0],
          [2, 1],
          [1, 1],
        ],
        -1.5,
      ],
      [[5], [[0, 0]], 3],
      [
        [1, 1, 2, 3],
        [
          [0, 0],
          [0, 0],
          [0, 0],
          [1, 1],
        ],
        1,
      ],
      [
        [2, 3, 8],
        [
          [0, 0],
          [1, 0],
          [4, 4],
        ],
        2,
      ],
    ];
    for (const dtype of dtypes) {
      for (const [xs, pads, value] of cases) {
        const title = `${dtype} [${xs}] pads ${JSON.stringify(pads)} value ${value}`;
        test(title, async ({ backend }) => {
          const xv = anyValues(rngFor(title), xs, dtype);
          const outShape = xs.map((d, i) => d + pads[i][0] + pads[i][1]);
          const st = stridesOf(xs);
          const fillValue = toDType(value, dtype);
          const want: number[] = [];
          forEachIndex(outShape, (idx) => {
            const src = idx.map((v, i) => v - pads[i][0]);
            const inside = src.every((v, i) => v >= 0 && v < xs[i]);
            want.push(inside ? xv[src.reduce((p, v, i) => p + v * st[i], 0)] : fillValue);
          });
          const out = pad(tensor(xv, xs, { backend, dtype }), pads, value);
          assertEqual(await values(out, outShape, dtype, title), want, title, outShape);
        });
      }
    }
  });

  s.group('fill', 'fill', (test) => {
    for (const dtype of dtypes) {
      for (const [shape, value] of [
        [[3, 5], 2.5],
        [[1], -7],
        [[2, 1, 129], 1 / 3],
        [[4], 0],
      ] as const) {
        const title = `${dtype} [${shape}] value ${value}`;
        test(title, async ({ backend }) => {
          // integer tensors get integer fill values: the contract says nothing of fractions there
          const fillValue = dtype === 'int32' ? Math.trunc(value) : value;
          const out = full(shape, fillValue, { backend, dtype });
          const n = shape.reduce((p: number, d: number) => p * d, 1);
          const v = toDType(fillValue, dtype);
          assertEqual(await values(out, shape, dtype, title), new Array(n).fill(v), title, shape);
        });
      }
      test(`zeros ${dtype}`, async ({ backend }) => {
        const out = zeros([3, 7], { backend, dtype });
        assertEqual(await values(out, [3, 7], dtype, 'zeros'), new Array(21).fill(0), `zeros ${dtype}`);
      });
    }
  });

  s.group('range', 'range (arange on the device)', (test) => {
    for (const dtype of [...s.floatDTypes, ...(s.hasDType('int32') ? (['int32'] as const) : [])]) {
      const cases: [number, number, number][] =
        dtype === 'int32'
          ? [
              [0, 7, 1],
              [-5, 300, 3],
              [10, -20, -4],
              [2 ** 31 - 1000, 2 ** 31 - 1, 7],
              [3, 3, 1],
            ]
          : [
              [0, 7, 1],
              [-1.5, 2.25, 0.125],
              [1, -1, -0.3],
              [0, 1, 1 / 1030],
              [5, 5, 1],
            ];
      for (const [start, stop, step] of cases) {
        const title = `${dtype} ${start} to ${stop} step ${step}`;
        test(title, async ({ backend, tol }) => {
          const n = Math.max(0, Math.ceil((stop - start) / step));
          const out = arange(start, stop, { step, backend, dtype });
          // start + i·step in float64, rounded once to the dtype
          const want = Array.from({ length: n }, (_, i) => toDType(start + i * step, dtype));
          const got = await values(out, [n], dtype, title);
          if (dtype === 'int32') assertEqual(got, want, title, [n]);
          else assertClose(got, want, tol(dtype, 'range'), title, [n]);
        });
      }
    }
    test('bad arguments are errors naming them, before any buffer is made', async ({ backend }) => {
      const before = backend.memory().buffers;
      const bad: [() => unknown, RegExp][] = [
        [() => arange(0, 5, { step: 0, backend }), /step must not be 0/],
        [() => arange(0, Number.NaN, { backend }), /stop must be a finite number, got NaN/],
        [() => arange(0.5, 3, { backend }), /int32 needs whole start and step/],
        [() => arange(2 ** 31 - 2, 2 ** 31 + 2, { backend }), /do not fit int32/],
        [() => arange(0, 3, { backend, dtype: 'bool' }), /dtype must be numeric, got bool/],
      ];
      for (const [call, message] of bad) {
        let error: unknown;
        try {
          call();
        } catch (e) {
          error = e;
        }
        if (!(error instanceof Error) || !message.test(error.message))
          throw new Error(`expected an error matching ${message}, got ${String(error)}`);
      }
      assertEqual([backend.memory().buffers], [before], 'buffers after the refused calls');
    });
  });

  s.group('writeSlice', 'writeSlice (in-place block write, decoding caches)', (test) => {
    const cases: [number[], number[], number[]][] = [
      [
        [2, 3, 7, 5],
        [1, 3, 1, 5],
        [1, 0, 4, 0],
      ],
      [
        [2, 3, 7, 5],
        [2, 3, 2, 5],
        [0, 0, 5, 0],
      ],
      [
        [3, 4, 6],
        [2, 1, 3],
        [1, 2, 2],
      ],
      [[9], [4], [5]],
    ];
    for (const dtype of dtypes) {
      for (const [ds, ss, begin] of cases) {
        const title = `${dtype} dst[${ds}] src[${ss}] at [${begin}]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const dv = anyValues(rng, ds, dtype);
          const sv = anyValues(rng, ss, dtype);
          const want = Array.from(dv);
          const dStr = stridesOf(ds);
          const sStr = stridesOf(ss);
          forEachIndex(ss, (idx) => {
            let d = 0;
            let s0 = 0;
            idx.forEach((v, a) => {
              d += (v + begin[a]) * dStr[a];
              s0 += v * sStr[a];
            });
            want[d] = sv[s0];
          });
          const dst = tensor(dv, ds, { backend, dtype });
          const out = writeSlice(dst, tensor(sv, ss, { backend, dtype }), begin);
          if (backend.writeSlice && out !== dst)
            throw new Error(`${title}: the backend's writeSlice did not write in place`);
          assertEqual(await values(out, ds, dtype, title), want, title, ds);
        });
      }
    }
    // 16-bit: a decoding cache's row of an even head size is written in place (whole 32-bit words);
    // odd runs may build a new tensor, with the same values
    const halfCases: [number[], number[], number[], boolean][] = [
      [[2, 3, 8, 6], [1, 3, 1, 6], [1, 0, 4, 0], true],
      [[2, 3, 8, 6], [2, 3, 1, 6], [0, 0, 7, 0], true],
      [[2, 3, 7, 5], [1, 3, 1, 5], [1, 0, 4, 0], false],
    ];
    for (const dtype of s.seaDTypes.filter((d) => d === 'float16' || d === 'bfloat16')) {
      for (const [ds, ss, begin, even] of halfCases) {
        const title = `${dtype} dst[${ds}] src[${ss}] at [${begin}]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const dv = normal(rng, ds, dtype);
          const sv = normal(rng, ss, dtype);
          const want = Array.from(dv);
          const dStr = stridesOf(ds);
          const sStr = stridesOf(ss);
          forEachIndex(ss, (idx) => {
            let d = 0;
            let s0 = 0;
            idx.forEach((v, a) => {
              d += (v + begin[a]) * dStr[a];
              s0 += v * sStr[a];
            });
            want[d] = sv[s0];
          });
          const dst = tensor(dv, ds, { backend, dtype });
          const out = writeSlice(dst, tensor(sv, ss, { backend, dtype }), begin);
          if (even && backend.writeSlice && out !== dst)
            throw new Error(`${title}: the backend's writeSlice did not write in place`);
          assertEqual(await values(out, ds, dtype, title), want, title, ds);
        });
      }
    }
  });
}
