// Quick sanity checks of the dense kernels against float64 definitions written out here; the
// full per-primitive suite is @sea/conformance.
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from './cpu_backend.js';

const backend = new CpuBackend();
const t = (v: number[] | Float32Array | Float64Array, shape: number[], dtype: sea.DType = 'float32') =>
  sea.tensor(v, shape, { backend, dtype });

let seed = 7;
function rand(n: number): number[] {
  return Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 1073741824 - 1;
  });
}

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe('matmul', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      it(`${dtype} transA=${transA} transB=${transB}, broadcast batch, ragged sizes`, () => {
        const [M, K, N] = [37, 301, 19];
        const av = rand(2 * M * K);
        const bv = rand(K * N);
        const a = t(av, transA ? [2, 1, K, M] : [2, 1, M, K], dtype);
        // b's three batches are equal copies, so the reference needs only one
        const b3 = t([...bv, ...bv, ...bv], transB ? [3, N, K] : [3, K, N], dtype);
        const c = sea.matmul(a, b3, { transA, transB });
        expect(c.shape).toEqual([2, 3, M, N]);
        const want: number[] = [];
        for (let p = 0; p < 2; p++)
          for (let q = 0; q < 3; q++)
            for (let i = 0; i < M; i++)
              for (let j = 0; j < N; j++) {
                let s = 0;
                for (let k = 0; k < K; k++) {
                  const x = av[p * M * K + (transA ? k * M + i : i * K + k)];
                  const y = bv[transB ? j * K + k : k * N + j];
                  s += x * y;
                }
                want.push(s);
              }
        close(c.dataSync(), want, dtype === 'float32' ? 2e-5 : 1e-12);
      });
    }
  }
});

describe('matmul blocking', () => {
  it('float32 across several M, N and K blocks', () => {
    const [M, K, N] = [70, 300, 1030];
    const av = rand(M * K);
    const bv = rand(K * N);
    const c = sea.matmul(t(av, [M, K]), t(bv, [K, N])).dataSync();
    const want = new Float64Array(M * N);
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++)
        for (let j = 0; j < N; j++) want[i * N + j] += av[i * K + k] * bv[k * N + j];
    close(c, want, 2e-5);
  });
});

describe('conv2d', () => {
  const cases = [
    // stride, dilation, asymmetric padding, groups (float64: the plain-JS GEMM path)
    { dtype: 'float64', dims: [2, 4, 9, 11, 6, 2, 3, 2], conv: [2, 1, 1, 2], pad: [1, 2, 0, 3], tol: 1e-12 },
    // float32 with more than one K slice (32·3·3 > 256) and output rows not a multiple of 8 wide
    { dtype: 'float32', dims: [1, 32, 7, 13, 8, 1, 3, 3], conv: [1, 1, 2, 1], pad: [4, 0, 1, 1], tol: 2e-5 },
    { dtype: 'float32', dims: [1, 6, 20, 16, 6, 3, 3, 3], conv: [1, 2, 1, 1], pad: [1, 1, 1, 1], tol: 2e-5 },
    // more output pixels than one GEMM column block, ragged last strip
    { dtype: 'float32', dims: [1, 8, 37, 61, 12, 1, 3, 3], conv: [1, 1, 1, 1], pad: [1, 1, 1, 1], tol: 2e-5 },
  ] as const;
  it.each(cases)('$dtype dims=$dims stride/dilation=$conv pad=$pad', ({ dtype, dims, conv, pad, tol }) => {
    const [B, C, H, W, O, G, kh, kw] = dims;
    const [sh, sw, dh, dw] = conv;
    const xv = rand(B * C * H * W);
    const wv = rand((O * C * kh * kw) / G);
    const bv = rand(O);
    const y = sea.conv2d(t(xv, [B, C, H, W], dtype), t(wv, [O, C / G, kh, kw], dtype), t(bv, [O], dtype), {
      stride: [sh, sw],
      dilation: [dh, dw],
      padding: [...pad],
      groups: G,
    });
    const [, , OH, OW] = y.shape;
    expect([OH, OW]).toEqual([
      Math.floor((H + pad[0] + pad[1] - dh * (kh - 1) - 1) / sh) + 1,
      Math.floor((W + pad[2] + pad[3] - dw * (kw - 1) - 1) / sw) + 1,
    ]);
    const Cg = C / G;
    const want: number[] = [];
    for (let n = 0; n < B; n++)
      for (let o = 0; o < O; o++)
        for (let i = 0; i < OH; i++)
          for (let j = 0; j < OW; j++) {
            let s = bv[o];
            const g = Math.floor(o / (O / G));
            for (let c = 0; c < Cg; c++)
              for (let a = 0; a < kh; a++)
                for (let bb = 0; bb < kw; bb++) {
                  const ih = i * sh - pad[0] + a * dh;
                  const iw = j * sw - pad[2] + bb * dw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  s += xv[((n * C + g * Cg + c) * H + ih) * W + iw] * wv[((o * Cg + c) * kh + a) * kw + bb];
                }
            want.push(s);
          }
    close(y.dataSync(), want, tol);
  });
});

describe('resize (PyTorch F.interpolate values)', () => {
  const x = t([1, 2, 3, 4], [1, 1, 2, 2]);
  it('bilinear, align_corners=false', () => {
    close(
      sea.resize(x, [4, 4], 'bilinear').dataSync(),
      [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4],
      1e-6,
    );
  });
  it('bilinear, align_corners=true', () => {
    close(
      sea.resize(x, [3, 3], 'bilinear', { alignCorners: true }).dataSync(),
      [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4],
      1e-6,
    );
  });
  it('nearest and area', () => {
    const r = t([0, 1, 2, 3, 4], [1, 1, 1, 5]);
    expect([...sea.resize(r, [1, 3], 'nearest').dataSync()]).toEqual([0, 1, 3]);
    // windows [0,2) [1,4) [3,5)
    close(sea.resize(r, [1, 3], 'area').dataSync(), [0.5, 2, 3.5], 1e-6);
  });
});

describe('elementwise and reductions', () => {
  it('softmax with an all −∞ masked row gives zeros; mask broadcasts', () => {
    const x = t([1, 2, 3, 4, 5, 6], [2, 3]);
    const m = t(
      [
        0,
        Number.NEGATIVE_INFINITY,
        0,
        Number.NEGATIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ],
      [2, 3],
    );
    const y = sea.softmax(x, m).dataSync();
    const e = Math.exp(2);
    close(y, [1 / (1 + e), 0, e / (1 + e), 0, 0, 0], 1e-7);
  });
  it('round is half to even; gelu matches erf form', () => {
    expect([...sea.round(t([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6], [7])).dataSync()]).toEqual([
      -2, -2, -0, 0, 2, 2, 3,
    ]);
    const g = sea.gelu(t([-3, -1, 0, 1, 3], [5], 'float64')).dataSync();
    // x·Φ(x) with Φ from tabulated values
    close(
      g,
      [-3 * 0.0013498980316301, -0.15865525393145707, 0, 0.8413447460685429, 3 * 0.9986501019683699],
      1e-15,
    );
  });
  it('reduce over non-adjacent axes, argmax first index on ties', () => {
    const v = rand(2 * 3 * 4);
    const x = t(v, [2, 3, 4], 'float64');
    const s = sea.sum(x, [0, 2]).dataSync();
    const want = [0, 1, 2].map((j) => {
      let acc = 0;
      for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) acc += v[(i * 3 + j) * 4 + k];
      return acc;
    });
    close(s, want, 1e-12);
    expect([...sea.argmax(t([1, 3, 3, 0, 2, 2], [2, 3]), 1).dataSync()]).toEqual([1, 1]);
  });
  it('cumsum exclusive reverse; broadcasting binary; layout ops', () => {
    expect([...sea.cumsum(t([1, 2, 3, 4], [4]), 0, { exclusive: true, reverse: true }).dataSync()]).toEqual([
      9, 7, 4, 0,
    ]);
    expect([...sea.add(t([1, 2, 3], [3, 1]), t([10, 20], [1, 2])).dataSync()]).toEqual([
      11, 21, 12, 22, 13, 23,
    ]);
    const x = t([0, 1, 2, 3, 4, 5], [2, 3]);
    expect([...sea.transpose(x).dataSync()]).toEqual([0, 3, 1, 4, 2, 5]);
    expect([...sea.slice(x, [0, 1], [2, 2]).dataSync()]).toEqual([1, 2, 4, 5]);
    expect([
      ...sea
        .pad(
          x,
          [
            [0, 1],
            [1, 0],
          ],
          9,
        )
        .dataSync(),
    ]).toEqual([9, 0, 1, 2, 9, 3, 4, 5, 9, 9, 9, 9]);
    expect([...sea.concat([x, x], 1).dataSync()]).toEqual([0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5]);
  });
});
