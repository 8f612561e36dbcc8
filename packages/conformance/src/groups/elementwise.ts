import {
  type BinaryOp,
  binary,
  cast,
  type DType,
  isHalf,
  type Rng,
  tensor,
  type UnaryOp,
  unary,
  where,
} from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import {
  bools,
  broadcast,
  broadcastOffset,
  forEachIndex,
  ints,
  normal,
  rngFor,
  toDType,
  uniform,
} from '../data.js';
import { erf, geluErf, geluTanh, roundHalfEven, sigmoid } from '../reference.js';
import type { SuiteContext } from '../suite.js';

const HALVES = [-3.5, -2.5, -1.5, -0.5, 0, 0.5, 1.5, 2.5, 3.5, 4.5, -4.5, 1e6 + 0.5, -0.49999997, 0.49999997];

interface UnarySpec {
  f: (x: number) => number;
  /** Inputs for this op, in float64 before rounding to the dtype. */
  input: (rng: Rng, n: number) => number[];
  exact?: boolean;
}

const spread = (lo: number, hi: number) => (rng: Rng, n: number) =>
  Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
const gauss = (std: number) => (rng: Rng, n: number) => Array.from({ length: n }, () => std * rng.normal());
const withSpecials =
  (base: (rng: Rng, n: number) => number[], specials: number[]) => (rng: Rng, n: number) => [
    ...specials,
    ...base(rng, n - specials.length),
  ];

const UNARY: Record<Exclude<UnaryOp, 'not'>, UnarySpec> = {
  neg: { f: (x) => -x, input: gauss(3), exact: true },
  abs: { f: Math.abs, input: gauss(3), exact: true },
  exp: { f: Math.exp, input: withSpecials(gauss(3), [0, -80, 30]) },
  log: { f: Math.log, input: withSpecials(spread(0.01, 20), [1, 1e-20, 1e20]) },
  sqrt: { f: Math.sqrt, input: withSpecials(spread(0, 50), [0, 1e-30, 4]) },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), input: withSpecials(spread(0.01, 50), [1e-20, 4]) },
  square: { f: (x) => x * x, input: gauss(3) },
  reciprocal: {
    f: (x) => 1 / x,
    input: (rng, n) => gauss(2)(rng, n).map((x) => (x < 0 ? x - 0.05 : x + 0.05)),
  },
  sin: { f: Math.sin, input: spread(-10, 10) },
  cos: { f: Math.cos, input: spread(-10, 10) },
  tanh: { f: Math.tanh, input: withSpecials(spread(-6, 6), [0, 1e-4, -1e-4, 20, -20, 50]) },
  sigmoid: { f: sigmoid, input: withSpecials(spread(-15, 15), [0, 30, -30, 100, -100]) },
  relu: { f: (x) => Math.max(x, 0), input: withSpecials(gauss(2), [0]), exact: true },
  gelu: { f: geluErf, input: withSpecials(spread(-6, 6), [0, -10, 10, 1e-3, -1e-3]) },
  gelu_tanh: { f: geluTanh, input: withSpecials(spread(-6, 6), [0, -10, 10, 1e-3, -1e-3]) },
  erf: { f: erf, input: withSpecials(spread(-4.5, 4.5), [0, 1e-6, -1e-6, 0.3, 2.9999, 3, 3.0001, 6, -6]) },
  floor: { f: Math.floor, input: withSpecials(gauss(4), HALVES), exact: true },
  ceil: { f: Math.ceil, input: withSpecials(gauss(4), HALVES), exact: true },
  round: { f: roundHalfEven, input: withSpecials(gauss(4), HALVES), exact: true },
  sign: { f: Math.sign, input: withSpecials(gauss(2), [0]), exact: true },
};

const BINARY_F: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
  pow: Math.pow,
  eq: (a, b) => +(a === b),
  ne: (a, b) => +(a !== b),
  lt: (a, b) => +(a < b),
  le: (a, b) => +(a <= b),
  gt: (a, b) => +(a > b),
  ge: (a, b) => +(a >= b),
  and: (a, b) => +(a !== 0 && b !== 0),
  or: (a, b) => +(a !== 0 || b !== 0),
};
const COMPARE: BinaryOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const ARITH: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];

const BROADCASTS: [number[], number[]][] = [
  [
    [3, 4, 5],
    [3, 4, 5],
  ],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [
    [5, 1, 7],
    [1, 6, 1],
  ],
  [[], [4, 5]],
  [[4, 9], [1]],
  [
    [1, 9],
    [7, 1],
  ],
  [
    [2, 1, 3, 1],
    [5, 1, 4],
  ],
  [[6, 8], [8]],
  [
    [2, 4, 1],
    [2, 4, 12],
  ],
];

/** Element values for operand `side` of `op` in `dtype`. */
function operand(rng: Rng, op: BinaryOp, side: 0 | 1, shape: number[], dtype: DType): Float64Array {
  if (dtype === 'bool') return bools(rng, shape);
  if (dtype === 'int32') {
    return op === 'mul' ? ints(rng, shape, -300, 300) : ints(rng, shape, -6, 6);
  }
  if (op === 'pow')
    return side === 0 ? uniform(rng, shape, dtype, 0.05, 4) : uniform(rng, shape, dtype, -2.5, 2.5);
  if (op === 'div' && side === 1) {
    return normal(rng, shape, dtype).map((x) => toDType(x < 0 ? x - 0.1 : x + 0.1, dtype));
  }
  if (COMPARE.includes(op) || op === 'max' || op === 'min') {
    // coarse values so that equal pairs occur
    return normal(rng, shape, dtype).map((x) => toDType(Math.round(x * 2) / 2, dtype));
  }
  return normal(rng, shape, dtype, 3);
}

function binaryRef(op: BinaryOp, av: ArrayLike<number>, as: number[], bv: ArrayLike<number>, bs: number[]) {
  const out = broadcast(as, bs);
  const want: number[] = [];
  forEachIndex(out, (idx) => {
    want.push(BINARY_F[op](av[broadcastOffset(idx, as, out)], bv[broadcastOffset(idx, bs, out)]));
  });
  return { want, out };
}

export function registerDenseElementwise(s: SuiteContext): void {
  s.group('unary', 'unary', (test) => {
    // [3,17,5] and a length that is whole 4-element vectors
    for (const dtype of s.floatDTypes) {
      for (const [op, spec] of Object.entries(UNARY) as [Exclude<UnaryOp, 'not'>, UnarySpec][])
        for (const shape of [
          [3, 17, 5],
          [2, 3, 8],
        ]) {
          const n = shape[0] * shape[1] * shape[2];
          const title = shape[2] === 5 ? `${op} ${dtype}` : `${op} ${dtype} [${shape}]`;
          test(title, async ({ backend, tol }) => {
            const xv = spec.input(rngFor(title), n).map((x) => toDType(x, dtype));
            const out = unary(op, tensor(xv, shape, { backend, dtype }));
            // a result past the dtype's largest finite value rounds to ±∞ (float16's is 65504)
            const want = xv
              .map(spec.f)
              .map((w) => (Number.isFinite(toDType(w, dtype)) ? w : toDType(w, dtype)));
            const got = await values(out, shape, dtype, title);
            if (spec.exact) assertEqual(got, want, title, shape);
            else assertClose(got, want, tol(dtype, 'unary'), title, shape);
          });
        }
      test(`round is half-to-even ${dtype}`, async ({ backend }) => {
        const xv = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5, 2.4999998, 2.5000002, 1e7 + 0.5];
        const exact = [0, 2, 2, 4, -0, -2, -2, -4, 2, 3, 1e7];
        // 16-bit dtypes hold 2.4999998 and 2.5000002 as 2.5 (and 1e7 + ½ as ∞ in float16)
        const want = isHalf(dtype) ? xv.map((x) => roundHalfEven(toDType(x, dtype))) : exact;
        const got = await values(
          unary('round', tensor(xv, [xv.length], { backend, dtype })),
          [11],
          dtype,
          'round',
        );
        assertEqual(
          got,
          want.map((w) => toDType(w, dtype)),
          `round ${dtype}`,
        );
      });
      test(`special values ${dtype}`, async ({ backend }) => {
        const inf = Number.POSITIVE_INFINITY;
        const cases: [UnaryOp, number[], number[]][] = [
          ['exp', [-inf, inf, 1000], [0, inf, inf]],
          ['log', [0, -1, inf], [-inf, Number.NaN, inf]],
          ['sqrt', [-1, inf], [Number.NaN, inf]],
          ['relu', [-inf, inf], [0, inf]],
          ['sigmoid', [-inf, inf], [0, 1]],
          ['tanh', [-inf, inf], [-1, 1]],
          ['erf', [-inf, inf], [-1, 1]],
          ['reciprocal', [inf, -inf], [0, -0]],
        ];
        for (const [op, xv, want] of cases) {
          const got = await values(
            unary(op, tensor(xv, [xv.length], { backend, dtype })),
            [xv.length],
            dtype,
            op,
          );
          assertEqual(got, want, `${op} of [${xv}] (${dtype})`);
        }
      });
    }
    if (s.hasDType('int32')) {
      for (const op of ['neg', 'abs', 'sign', 'square'] as const) {
        test(`${op} int32`, async ({ backend }) => {
          const xv = [0, ...ints(rngFor(`${op} int32`), [40], -1000, 1000)];
          const out = unary(op, tensor(xv, [41], { backend, dtype: 'int32' }));
          assertEqual(await values(out, [41], 'int32', op), xv.map(UNARY[op].f), `${op} int32`);
        });
      }
    }
    test('not bool', async ({ backend }) => {
      const xv = bools(rngFor('not'), [2, 13]);
      const out = unary('not', tensor(xv, [2, 13], { backend, dtype: 'bool' }));
      assertEqual(
        await values(out, [2, 13], 'bool', 'not'),
        [...xv].map((x) => 1 - x),
        'not',
        [2, 13],
      );
    });
  });

  s.group('binary', 'binary', (test) => {
    const numericDTypes: DType[] = [...s.floatDTypes, ...(s.hasDType('int32') ? (['int32'] as const) : [])];
    for (const dtype of numericDTypes) {
      const ops =
        dtype === 'int32'
          ? [...ARITH.filter((o) => o !== 'div' && o !== 'pow'), ...COMPARE]
          : [...ARITH, ...COMPARE];
      for (const op of ops) {
        for (const [as, bs] of BROADCASTS) {
          const title = `${op} ${dtype} [${as}] ⊕ [${bs}]`;
          test(title, async ({ backend, tol }) => {
            const rng = rngFor(title);
            const av = operand(rng, op, 0, as, dtype);
            const bv = operand(rng, op, 1, bs, dtype);
            const out = binary(op, tensor(av, as, { backend, dtype }), tensor(bv, bs, { backend, dtype }));
            const ref = binaryRef(op, av, as, bv, bs);
            const outDType = COMPARE.includes(op) ? 'bool' : dtype;
            const got = await values(out, ref.out, outDType, title);
            if (outDType === 'bool' || dtype === 'int32' || op === 'max' || op === 'min') {
              assertEqual(got, ref.want, title, ref.out);
            } else {
              assertClose(got, ref.want, tol(dtype, 'binary'), title, ref.out);
            }
          });
        }
      }
      test(`scalar operands ${dtype}`, async ({ backend, tol }) => {
        const xv = operand(rngFor(`scalar ${dtype}`), 'add', 0, [3, 5], dtype);
        const x = tensor(xv, [3, 5], { backend, dtype });
        const t = tol(dtype, 'binary');
        assertClose(
          await values(binary('sub', 2, x), [3, 5], dtype, 'sub'),
          [...xv].map((v) => 2 - v),
          t,
          '2 − x',
        );
        assertClose(
          await values(binary('mul', x, 3), [3, 5], dtype, 'mul'),
          [...xv].map((v) => 3 * v),
          t,
          'x · 3',
        );
      });
    }
    if (s.hasDType('bool')) {
      for (const op of ['and', 'or', 'eq', 'ne'] as const) {
        const title = `${op} bool [4,1,3] ⊕ [5,1]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const av = bools(rng, [4, 1, 3]);
          const bv = bools(rng, [5, 1]);
          const out = binary(
            op,
            tensor(av, [4, 1, 3], { backend, dtype: 'bool' }),
            tensor(bv, [5, 1], { backend, dtype: 'bool' }),
          );
          const ref = binaryRef(op, av, [4, 1, 3], bv, [5, 1]);
          assertEqual(await values(out, ref.out, 'bool', title), ref.want, title, ref.out);
        });
      }
    }
  });

  s.group('where', 'where', (test) => {
    const dtypes: DType[] = [...s.floatDTypes, ...(['int32', 'bool'] as const).filter(s.hasDType)];
    const shapes: [number[], number[], number[]][] = [
      [
        [3, 4, 5],
        [3, 4, 5],
        [3, 4, 5],
      ],
      [[3, 1, 5], [1, 4, 5], [5]],
      [[6, 1], [], [1, 7]],
      [[], [2, 3], [2, 3]],
    ];
    for (const dtype of dtypes) {
      for (const [cs, as, bs] of shapes) {
        const title = `${dtype} cond[${cs}] a[${as}] b[${bs}]`;
        test(title, async ({ backend }) => {
          const rng = rngFor(title);
          const cv = bools(rng, cs);
          const pick = (sh: number[]) =>
            dtype === 'bool'
              ? bools(rng, sh)
              : dtype === 'int32'
                ? ints(rng, sh, -100, 100)
                : normal(rng, sh, dtype);
          const av = pick(as);
          const bv = pick(bs);
          const out = where(
            tensor(cv, cs, { backend, dtype: 'bool' }),
            tensor(av, as, { backend, dtype }),
            tensor(bv, bs, { backend, dtype }),
          );
          const os = broadcast(broadcast(cs, as), bs);
          const want: number[] = [];
          forEachIndex(os, (idx) => {
            want.push(
              cv[broadcastOffset(idx, cs, os)]
                ? av[broadcastOffset(idx, as, os)]
                : bv[broadcastOffset(idx, bs, os)],
            );
          });
          assertEqual(await values(out, os, dtype, title), want, title, os);
        });
      }
    }
  });

  s.group('cast', 'cast', (test) => {
    const specials = [
      -2.7,
      -2.5,
      -0.5,
      -0,
      0,
      0.5,
      1.99,
      2.5,
      1e6 + 0.5,
      -123456.75,
      1e-30,
      -1e-30,
      Number.NaN,
    ];
    const cases: [DType, DType][] = [];
    const all = (['float32', 'float64', 'int32', 'bool'] as const).filter(s.hasDType);
    for (const from of all) for (const to of all) cases.push([from, to]);
    for (const [from, to] of cases) {
      const title = `${from} → ${to}`;
      test(title, async ({ backend }) => {
        const rng = rngFor(title);
        let xv: number[];
        if (from === 'bool') xv = [...bools(rng, [20])];
        else if (from === 'int32')
          xv = [0, 1, -1, 16777217, -16777217, 2147483647, -2147483648, ...ints(rng, [20], -1000, 1000)];
        else {
          const base = [...specials, 1e20, 3.4e38, ...normal(rng, [30], 'float64', 100)];
          // NaN and huge values have no int32 image; the contract only covers what fits
          xv = (to === 'int32' ? base.filter((v) => Math.abs(v) < 2 ** 31) : base).map((v) =>
            toDType(v, from),
          );
        }
        const want = xv.map((v) => {
          if (to === 'bool') return v !== 0 ? 1 : 0;
          if (to === 'int32') return Math.trunc(v);
          return toDType(v, to);
        });
        const out = cast(tensor(xv, [xv.length], { backend, dtype: from }), to);
        assertEqual(await values(out, [xv.length], to, title), want, title);
      });
    }
  });
}
