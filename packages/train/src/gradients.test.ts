import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { performerPrefixSumDense } from './gradients/sea_ops.js';
import { getGradient, valueAndGrad } from './index.js';
import { awayFromZero, backend, f64, gradCheck, i32, randn, rng } from './test/gradcheck.js';

describe('matmul', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`transA=${transA} transB=${transB}, batch broadcast [2,1]×[3]`, () => {
        const [M, K, N] = [3, 4, 2];
        gradCheck(
          [{ shape: transA ? [2, 1, K, M] : [2, 1, M, K] }, { shape: transB ? [3, N, K] : [3, K, N] }],
          (a, b) => sea.matmul(a, b, { transA, transB }),
        );
      });
    }
  }
  it('linear (reshape + matmul transB + bias add)', () => {
    gradCheck([{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }], (x, w, b) => sea.linear(x, w, b));
  });
});

describe('binary ops with broadcasting', () => {
  const shapes = [{ shape: [2, 3, 1] }, { shape: [3, 4] }];
  for (const op of ['add', 'sub', 'mul'] as const) {
    it(op, () => gradCheck(shapes, (a, b) => sea.binary(op, a, b)));
  }
  it('div', () => {
    gradCheck([{ shape: [2, 3, 1] }, { shape: [3, 4], values: awayFromZero(12) }], (a, b) => sea.div(a, b));
  });
  for (const op of ['max', 'min'] as const) {
    it(op, () => gradCheck(shapes, (a, b) => sea.binary(op, a, b)));
  }
  it('pow (positive base)', () => {
    gradCheck([{ shape: [2, 3, 1], values: awayFromZero(6, 0.5, 2, false) }, { shape: [3, 4] }], (a, b) =>
      sea.pow(a, b),
    );
  });
  it('scalar operand', () => gradCheck([{ shape: [3, 2] }], (a) => sea.mul(sea.sub(2, a), 3)));
});

describe('unary ops', () => {
  const cases: [string, Float64Array | null][] = [
    ['neg', null],
    ['abs', awayFromZero(10)],
    ['exp', null],
    ['log', awayFromZero(10, 0.3, 2, false)],
    ['sqrt', awayFromZero(10, 0.3, 2, false)],
    ['rsqrt', awayFromZero(10, 0.3, 2, false)],
    ['square', null],
    ['reciprocal', awayFromZero(10)],
    ['sin', null],
    ['cos', null],
    ['tanh', null],
    ['sigmoid', null],
    ['relu', awayFromZero(10)],
    ['gelu', null],
    ['gelu_tanh', null],
    ['erf', null],
  ];
  for (const [op, values] of cases) {
    it(op, () =>
      gradCheck([{ shape: [2, 5], values: values ?? undefined }], (x) => sea.unary(op as sea.UnaryOp, x)),
    );
  }
  it('floor/round/sign carry no gradient', () => {
    const x = f64([0.2, 1.7, -2.4], [3]);
    const { grads } = valueAndGrad(() => sea.sum(sea.add(sea.floor(x), sea.mul(sea.round(x), sea.sign(x)))), {
      x,
    });
    expect([...grads.x.dataSync()]).toEqual([0, 0, 0]);
  });
});

describe('where / cast / comparisons stop gradients', () => {
  it('where with broadcast branches', () => {
    const cond = sea.tensor([1, 0, 0, 1, 1, 0], [2, 3], { dtype: 'bool' });
    gradCheck([{ shape: [2, 3] }, { shape: [3] }], (a, b) => sea.where(cond, a, b));
  });
  it('cast float64 → float32 → float64', () => {
    gradCheck([{ shape: [4] }], (x) => sea.cast(sea.mul(sea.cast(x, 'float32'), 2), 'float64'), {
      h: 1e-2,
      atol: 1e-5,
      rtol: 1e-5,
    });
  });
  it('a bool mask built from x passes no gradient', () => {
    gradCheck([{ shape: [6], values: awayFromZero(6) }], (x) =>
      sea.mul(sea.cast(sea.greater(x, 0), 'float64'), sea.square(x)),
    );
  });
});

describe('reductions', () => {
  const vals = () => randn(24);
  it('sum over axes [0,2]', () => gradCheck([{ shape: [2, 3, 4] }], (x) => sea.sum(x, [0, 2])));
  it('sum all, keepDims', () => gradCheck([{ shape: [2, 3, 4] }], (x) => sea.sum(x, undefined, true)));
  it('mean over axis 1 keepDims', () => gradCheck([{ shape: [2, 3, 4] }], (x) => sea.mean(x, 1, true)));
  it('max over last axis', () => gradCheck([{ shape: [2, 3, 4], values: vals() }], (x) => sea.max(x, -1)));
  it('min over axes [0,1]', () =>
    gradCheck([{ shape: [2, 3, 4], values: vals() }], (x) => sea.min(x, [0, 1])));
  it('prod over last axis', () =>
    gradCheck([{ shape: [3, 4], values: awayFromZero(12) }], (x) => sea.prod(x, -1)));
});

describe('softmax / logSoftmax / layerNorm', () => {
  it('softmax with a broadcast additive mask (x and mask gradients)', () => {
    gradCheck([{ shape: [2, 3, 5] }, { shape: [1, 1, 5] }], (x, m) => sea.softmax(x, m));
  });
  it('softmax with a fixed causal −1e9 mask', () => {
    const m = new Float64Array(16);
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) m[i * 4 + j] = -1e9;
    const mask = f64(m, [1, 4, 4]);
    gradCheck([{ shape: [2, 4, 4] }], (x) => sea.softmax(x, mask));
  });
  it('logSoftmax', () => gradCheck([{ shape: [3, 7] }], (x) => sea.logSoftmax(x)));
  it('layerNorm (x, gamma, beta)', () => {
    gradCheck([{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }], (x, g, b) =>
      sea.layerNorm(x, g, b, 1e-5),
    );
  });
});

describe('attention (fused op)', () => {
  it('causal, q/k/v gradients', () => {
    gradCheck([{ shape: [1, 2, 4, 3] }, { shape: [1, 2, 4, 3] }, { shape: [1, 2, 4, 3] }], (q, k, v) =>
      sea.attention(q, k, v, { scale: 0.7, causal: true }),
    );
  });
  it('padded keys (a batch element with none) and Tq ≠ Tk', () => {
    const keyValid = sea.tensor(Uint8Array.from([1, 0, 1, 1, 0, 0, 0, 0]), [2, 4], { dtype: 'bool' });
    gradCheck([{ shape: [2, 1, 3, 2] }, { shape: [2, 1, 4, 2] }, { shape: [2, 1, 4, 5] }], (q, k, v) =>
      sea.attention(q, k, v, { keyValid }),
    );
  });
});

describe('gather / takeAlong', () => {
  it('gather (embedding) with repeated indices', () => {
    const idx = i32([0, 3, 3, 6, 1, 0, 2, 3], [2, 4]);
    gradCheck([{ shape: [7, 3] }], (t) => sea.gather(t, idx));
  });
  it('takeAlong with repeated indices', () => {
    const idx = i32(
      Array.from({ length: 24 }, () => rng.int(5)),
      [2, 3, 4],
    );
    gradCheck([{ shape: [2, 3, 5] }], (x) => sea.takeAlong(x, idx));
  });
});

describe('conv2d (input, weight and bias gradients)', () => {
  const cases: [string, number[], number[], sea.Conv2dArgs][] = [
    ['3×3, padding 1', [2, 2, 5, 4], [3, 2, 3, 3], { padding: 1 }],
    ['stride (2,1), padding 1', [1, 2, 7, 5], [2, 2, 3, 3], { stride: [2, 1], padding: 1 }],
    [
      'dilation 2, asymmetric padding [4,0,2,2] (causal in time)',
      [1, 2, 6, 5],
      [2, 2, 3, 3],
      {
        dilation: 2,
        padding: [4, 0, 2, 2],
      },
    ],
    [
      'groups 2, stride 2, dilation (1,2), padding [0,3,1,0]',
      [2, 4, 6, 7],
      [4, 2, 2, 3],
      {
        groups: 2,
        stride: 2,
        dilation: [1, 2],
        padding: [0, 3, 1, 0],
      },
    ],
    ['1×1 with width padding 1 (the causal CNN head)', [1, 3, 4, 5], [2, 3, 1, 1], { padding: [0, 0, 1, 1] }],
    ['stride 3 leaves input rows unread', [1, 1, 8, 8], [1, 1, 2, 2], { stride: 3 }],
  ];
  for (const [name, xs, ws, args] of cases) {
    it(name, () => {
      gradCheck([{ shape: xs }, { shape: ws }, { shape: [ws[0]] }], (x, w, b) => sea.conv2d(x, w, b, args));
    });
  }
});

describe('cumsum', () => {
  for (const exclusive of [false, true]) {
    for (const reverse of [false, true]) {
      it(`axis 1, exclusive=${exclusive}, reverse=${reverse}`, () => {
        gradCheck([{ shape: [2, 5, 3] }], (x) => sea.cumsum(x, 1, { exclusive, reverse }));
      });
    }
  }
});

describe('resize (adjoint of a linear map)', () => {
  const cases: [sea.ResizeMode, [number, number], boolean][] = [
    ['nearest', [7, 3], false],
    ['nearest', [2, 8], false],
    ['bilinear', [7, 9], false],
    ['bilinear', [3, 2], true],
    ['area', [3, 10], false],
    ['area', [5, 4], false],
  ];
  for (const [mode, size, ac] of cases) {
    it(`${mode} → [${size}]${ac ? ' align_corners' : ''}`, () => {
      gradCheck([{ shape: [2, 1, 5, 4] }], (x) => sea.resize(x, size, mode, { alignCorners: ac }));
    });
  }
});

describe('layout ops', () => {
  it('reshape', () => {
    const w = randn(4);
    gradCheck([{ shape: [2, 6] }], (x) => sea.mul(x.reshape([3, 4]), f64(w, [4])));
  });
  it('transpose', () => gradCheck([{ shape: [2, 3, 4] }], (x) => sea.transpose(x, [2, 0, 1])));
  it('slice', () => gradCheck([{ shape: [3, 5, 2] }], (x) => sea.slice(x, [1, 2, 0], [2, 2, 1])));
  it('concat (three inputs, middle axis)', () => {
    gradCheck([{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }], (a, b, c) =>
      sea.concat([a, b, c], 1),
    );
  });
  it('pad', () =>
    gradCheck([{ shape: [2, 3] }], (x) =>
      sea.pad(
        x,
        [
          [1, 0],
          [2, 3],
        ],
        0.5,
      ),
    ));
});

describe("@sea/mask's stretch (the recorded 'stretchGather' op)", () => {
  it('the gradient of cell c is the sum of dy over its keys (docs/algorithm.md §6 cell(j)), for row lengths 0…keys', () => {
    const [B, H, T, K, keys] = [2, 3, 6, 4, 5];
    const rl = Int32Array.from([0, 1, 3, 4, 5, 2, 5, 5, 0, 4, 1, 3]);
    const xv = randn(B * H * T * K);
    const dv = randn(B * H * T * keys);
    const fn = getGradient('stretchGather');
    expect(fn).toBeDefined();
    const got = sea.tidy(() => {
      const x = f64(xv, [B, H, T, K]);
      const dy = f64(dv, [B, H, T, keys]);
      const [g] = fn!(dy, { inputs: [x], output: dy, attrs: { rowLen: rl, keys }, needs: [true] });
      return g!.dataSync();
    });
    const want = new Float64Array(B * H * T * K);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let t = 0; t < T; t++) {
          const L = rl[b * T + t];
          for (let j = 0; j < L; j++) {
            const c = Math.floor(((2 * j + 1) * K - 1) / (2 * L));
            want[((b * H + h) * T + t) * K + c] += dv[((b * H + h) * T + t) * keys + j];
          }
        }
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 12);
  });
});

describe('performerPrefixSum', () => {
  it('the dense composition matches the primitive contract (loops, float64)', () => {
    const [B, H, T, M, E] = [1, 2, 5, 3, 4];
    const qf = awayFromZero(B * H * T * M, 0.1, 1, false);
    const kf = awayFromZero(B * H * T * M, 0.1, 1, false);
    const v = randn(B * H * T * E);
    const eps = 1e-6;
    const got = sea.tidy(() =>
      Float64Array.from(
        performerPrefixSumDense(
          f64(qf, [B, H, T, M]),
          f64(kf, [B, H, T, M]),
          f64(v, [B, H, T, E]),
          eps,
        ).dataSync(),
      ),
    );
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(M * E);
      const z = new Float64Array(M);
      for (let t = 0; t < T; t++) {
        const r = h * T + t;
        for (let m = 0; m < M; m++) {
          z[m] += kf[r * M + m];
          for (let e = 0; e < E; e++) S[m * E + e] += kf[r * M + m] * v[r * E + e];
        }
        let den = 0;
        for (let m = 0; m < M; m++) den += qf[r * M + m] * (z[m] + eps);
        for (let e = 0; e < E; e++) {
          let num = 0;
          for (let m = 0; m < M; m++) num += qf[r * M + m] * S[m * E + e];
          expect(got[r * E + e]).toBeCloseTo(num / den, 12);
        }
      }
    }
  });
  it('gradient (registered adjoint) matches finite differences', () => {
    const [B, H, T, M, E] = [1, 2, 4, 3, 2];
    gradCheck(
      [
        { shape: [B, H, T, M], values: awayFromZero(B * H * T * M, 0.1, 1, false) },
        { shape: [B, H, T, M], values: awayFromZero(B * H * T * M, 0.1, 1, false) },
        { shape: [B, H, T, E] },
      ],
      (q, k, v) => performerPrefixSumDense(q, k, v, 1e-6),
    );
  });
});

describe('valueAndGrad', () => {
  it('accumulates a parameter used twice, gives zeros to an unused one, and leaks nothing', () => {
    const before = backend.memory().bytes;
    sea.tidy(() => {
      const x = f64([1, 2, 3], [3]);
      const unused = f64([5], [1]);
      const { value, grads } = valueAndGrad(() => sea.sum(sea.mul(x, x)), { x, unused });
      expect(value.dataSync()[0]).toBe(14);
      expect([...grads.x.dataSync()]).toEqual([2, 4, 6]);
      expect([...grads.unused.dataSync()]).toEqual([0]);
    });
    expect(backend.memory().bytes).toBe(before);
  });
  it('keeps inputs the function disposes alive for the backward pass', () => {
    const x = f64([0.5, -1], [2]);
    const { grads } = valueAndGrad(
      () => {
        const y = sea.exp(x);
        const z = sea.sum(sea.mul(y, 3));
        y.dispose();
        return z;
      },
      { x },
    );
    const g = grads.x.dataSync();
    expect(g[0]).toBeCloseTo(3 * Math.exp(0.5), 12);
    expect(g[1]).toBeCloseTo(3 * Math.exp(-1), 12);
    x.dispose();
    grads.x.dispose();
  });
  it('names an op without a registered gradient', () => {
    const x = f64([1], [1]);
    expect(() => valueAndGrad(() => sea.sum(sea.argmax(x, 0) as Tensor), { x })).toThrow(
      /loss must be float|sum/,
    );
    x.dispose();
  });
});
