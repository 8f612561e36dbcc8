import { type Conv2dArgs, conv2d, type ResizeMode, resize, tensor } from '@sea/tensor';
import { assertClose, values } from '../check.js';
import { normal, rngFor } from '../data.js';
import type { SuiteContext } from '../suite.js';

interface ConvCase {
  x: [number, number, number, number];
  w: [number, number, number, number];
  bias: boolean;
  stride: [number, number];
  dilation: [number, number];
  /** [top, bottom, left, right] */
  padding: [number, number, number, number];
  groups: number;
  note: string;
}

const CONV: ConvCase[] = [
  {
    x: [2, 3, 7, 9],
    w: [4, 3, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 1,
    note: 'same',
  },
  {
    x: [1, 4, 11, 10],
    w: [6, 2, 3, 2],
    bias: false,
    stride: [2, 1],
    dilation: [2, 2],
    padding: [4, 0, 2, 1],
    groups: 2,
    note: 'grouped, strided, dilated, asymmetric',
  },
  {
    x: [2, 5, 6, 6],
    w: [5, 1, 3, 3],
    bias: true,
    stride: [2, 2],
    dilation: [1, 1],
    padding: [1, 0, 0, 1],
    groups: 5,
    note: 'depthwise',
  },
  {
    x: [1, 4, 5, 8],
    w: [2, 4, 1, 1],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [0, 0, 1, 1],
    groups: 1,
    note: '1×1 with width padding (docs/algorithm.md §4a step 5)',
  },
  {
    x: [1, 2, 9, 8],
    w: [2, 2, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [2, 2],
    padding: [4, 0, 2, 2],
    groups: 1,
    note: 'causal dilated (docs/algorithm.md §4a step 2)',
  },
  {
    x: [3, 2, 1, 1],
    w: [3, 2, 1, 1],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [0, 0, 0, 0],
    groups: 1,
    note: '1×1 image',
  },
  {
    x: [2, 8, 16, 20],
    w: [8, 8, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 1,
    note: 'wider',
  },
  {
    x: [1, 6, 7, 5],
    w: [4, 3, 2, 3],
    bias: false,
    stride: [3, 2],
    dilation: [1, 2],
    padding: [0, 2, 0, 0],
    groups: 2,
    note: 'kernel 2×3, stride 3×2',
  },
  {
    x: [1, 5, 11, 9],
    w: [24, 5, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [2, 2],
    padding: [4, 0, 2, 2],
    groups: 1,
    note: 'O = 24, causal dilated',
  },
  {
    x: [1, 24, 13, 7],
    w: [12, 24, 1, 1],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [0, 0, 1, 1],
    groups: 1,
    note: '1×1, O = 12, one zero column each side (docs/algorithm.md §4a step 5)',
  },
  {
    x: [2, 3, 6, 5],
    w: [36, 3, 3, 3],
    bias: false,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 1,
    note: 'O = 36',
  },
  {
    x: [2, 4, 9, 11],
    w: [6, 2, 3, 2],
    bias: true,
    stride: [2, 1],
    dilation: [1, 2],
    padding: [1, 2, 0, 3],
    groups: 2,
    note: 'grouped, stride 2×1, dilation 1×2, every side padded differently',
  },
  {
    x: [1, 32, 7, 13],
    w: [8, 32, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [2, 1],
    padding: [4, 0, 1, 1],
    groups: 1,
    note: 'C·kh·kw = 288: more than one K slice, output rows not a multiple of 8',
  },
  {
    x: [1, 6, 20, 16],
    w: [6, 2, 3, 3],
    bias: true,
    stride: [1, 2],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 3,
    note: 'three groups, stride 1×2',
  },
  {
    x: [1, 8, 37, 61],
    w: [12, 8, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 1,
    note: 'more output pixels than one GEMM column block, ragged last strip',
  },
  {
    x: [1, 24, 37, 70],
    w: [24, 24, 3, 3],
    bias: true,
    stride: [1, 1],
    dilation: [2, 2],
    padding: [4, 0, 2, 2],
    groups: 1,
    note: 'the causal CNN conv (24 channels), rows and columns past one tile',
  },
  {
    x: [2, 16, 20, 33],
    w: [20, 16, 3, 3],
    bias: false,
    stride: [1, 1],
    dilation: [1, 1],
    padding: [1, 1, 1, 1],
    groups: 1,
    note: 'O = 20 (a partial tile of 8 channels), two images',
  },
];

function convRef(c: ConvCase, xv: Float64Array, wv: Float64Array, bv: Float64Array | null) {
  const [B, C, H, W] = c.x;
  const [O, Cg, kh, kw] = c.w;
  const [sh, sw] = c.stride;
  const [dh, dw] = c.dilation;
  const [pt, pb, pl, pr] = c.padding;
  const OH = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const og = O / c.groups;
  const want = new Float64Array(B * O * OH * OW);
  const mag = new Float64Array(want.length);
  let k = 0;
  for (let b = 0; b < B; b++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          const g = Math.floor(o / og);
          let s = bv ? bv[o] : 0;
          let m = Math.abs(s);
          for (let cc = 0; cc < Cg; cc++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const y = i * sh - pt + a * dh;
                const x = j * sw - pl + e * dw;
                if (y < 0 || y >= H || x < 0 || x >= W) continue;
                const t = wv[((o * Cg + cc) * kh + a) * kw + e] * xv[((b * C + g * Cg + cc) * H + y) * W + x];
                s += t;
                m += Math.abs(t);
              }
          want[k] = s;
          mag[k++] = m;
        }
  return { want, mag, outShape: [B, O, OH, OW] };
}

/** One axis of PyTorch `interpolate`: output i reads inputs idx with weights w. */
function axisTaps(
  mode: ResizeMode,
  alignCorners: boolean,
  inn: number,
  out: number,
  i: number,
): [number[], number[]] {
  if (mode === 'nearest') return [[Math.min(Math.floor((i * inn) / out), inn - 1)], [1]];
  if (mode === 'area') {
    const lo = Math.floor((i * inn) / out);
    const hi = Math.ceil(((i + 1) * inn) / out);
    const idx = Array.from({ length: hi - lo }, (_, t) => lo + t);
    return [idx, idx.map(() => 1 / idx.length)];
  }
  const src = alignCorners
    ? out > 1
      ? (i * (inn - 1)) / (out - 1)
      : 0
    : Math.max(((i + 0.5) * inn) / out - 0.5, 0);
  const i0 = Math.min(Math.floor(src), inn - 1);
  const i1 = Math.min(i0 + 1, inn - 1);
  const l = src - i0;
  return [
    [i0, i1],
    [1 - l, l],
  ];
}

function resizeRef(xv: Float64Array, xs: number[], oh: number, ow: number, mode: ResizeMode, ac: boolean) {
  const [B, C, H, W] = xs;
  const want: number[] = [];
  for (let p = 0; p < B * C; p++)
    for (let i = 0; i < oh; i++) {
      const [iy, wy] = axisTaps(mode, ac, H, oh, i);
      for (let j = 0; j < ow; j++) {
        const [ix, wx] = axisTaps(mode, ac, W, ow, j);
        let s = 0;
        iy.forEach((y, a) => {
          ix.forEach((x, b) => {
            s += wy[a] * wx[b] * xv[(p * H + y) * W + x];
          });
        });
        want.push(s);
      }
    }
  return want;
}

const RESIZE: [ResizeMode, boolean, number[], [number, number], string][] = [
  ['nearest', false, [1, 2, 3, 4], [3, 16], '×4 width (docs/algorithm.md §4a step 4)'],
  ['nearest', false, [2, 3, 7, 5], [3, 2], 'down, non-integer'],
  ['nearest', false, [1, 1, 4, 4], [9, 6], 'up, non-integer'],
  ['nearest', false, [1, 2, 3, 5], [6, 5], '×2 time (docs/algorithm.md §4b step 3)'],
  ['bilinear', false, [2, 2, 5, 4], [9, 7], 'up'],
  ['bilinear', false, [1, 3, 8, 6], [3, 4], 'down'],
  ['bilinear', false, [1, 1, 4, 64], [3, 128], 'K/2 → K, odd T (docs/algorithm.md §4b step 5)'],
  ['bilinear', false, [1, 1, 1, 3], [4, 5], 'from one row'],
  ['bilinear', true, [2, 2, 5, 4], [9, 7], 'up'],
  ['bilinear', true, [1, 3, 8, 6], [3, 4], 'down'],
  ['bilinear', true, [1, 1, 1, 3], [4, 1], 'to one column'],
  ['area', false, [1, 2, 3, 10], [3, 8], 'K+2 → K (docs/algorithm.md §4a step 6)'],
  ['area', false, [1, 1, 4, 258], [4, 256], 'K+2 → K, K = 256'],
  ['area', false, [2, 3, 37, 258], [37, 256], 'K+2 → K, rows past one block'],
  ['area', false, [2, 1, 19, 3], [19, 7], 'up along the width only'],
  ['area', false, [1, 1, 7, 7], [3, 3], 'non-integer ratio'],
  ['area', false, [2, 2, 5, 5], [5, 5], 'identity'],
  ['area', false, [1, 1, 2, 3], [5, 4], 'up (windows overlap)'],
];

export function registerSpatial(s: SuiteContext): void {
  s.group('conv2d', 'conv2d', (test) => {
    for (const dtype of s.floatDTypes) {
      for (const c of CONV) {
        const title = `${dtype} x[${c.x}] w[${c.w}] ${c.note}`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const xv = normal(rng, c.x, dtype);
          const wv = normal(rng, c.w, dtype);
          const bv = c.bias ? normal(rng, [c.w[0]], dtype) : null;
          const args: Conv2dArgs = {
            stride: c.stride,
            dilation: c.dilation,
            padding: c.padding,
            groups: c.groups,
          };
          const out = conv2d(
            tensor(xv, c.x, { backend, dtype }),
            tensor(wv, c.w, { backend, dtype }),
            bv ? tensor(bv, [c.w[0]], { backend, dtype }) : null,
            args,
          );
          const ref = convRef(c, xv, wv, bv);
          const got = await values(out, ref.outShape, dtype, title);
          assertClose(got, ref.want, tol(dtype, 'conv2d'), title, ref.outShape, ref.mag);
        });
      }
      // the ReLU in the conv's store (docs/algorithm.md §4a step 2): every kernel family
      for (const c of CONV.filter((x) => /same|causal dilated|grouped|O = 36/.test(x.note))) {
        const title = `${dtype} x[${c.x}] w[${c.w}] ${c.note}, activation relu`;
        test(title, async ({ backend, tol }) => {
          const rng = rngFor(title);
          const xv = normal(rng, c.x, dtype);
          const wv = normal(rng, c.w, dtype);
          const bv = c.bias ? normal(rng, [c.w[0]], dtype) : null;
          const out = conv2d(
            tensor(xv, c.x, { backend, dtype }),
            tensor(wv, c.w, { backend, dtype }),
            bv ? tensor(bv, [c.w[0]], { backend, dtype }) : null,
            {
              stride: c.stride,
              dilation: c.dilation,
              padding: c.padding,
              groups: c.groups,
              activation: 'relu',
            },
          );
          const ref = convRef(c, xv, wv, bv);
          const got = await values(out, ref.outShape, dtype, title);
          const want = ref.want.map((v) => Math.max(v, 0));
          assertClose(got, want, tol(dtype, 'conv2d'), title, ref.outShape, ref.mag);
        });
      }
    }
  });

  s.group('resize', 'resize', (test) => {
    for (const dtype of s.floatDTypes) {
      for (const [mode, ac, xs, [oh, ow], note] of RESIZE) {
        const title = `${dtype} ${mode}${mode === 'bilinear' ? ` align_corners=${ac}` : ''} [${xs}] → ${oh}×${ow} ${note}`;
        test(title, async ({ backend, tol }) => {
          const xv = normal(rngFor(title), xs, dtype);
          const out = resize(tensor(xv, xs, { backend, dtype }), [oh, ow], mode, { alignCorners: ac });
          const outShape = [xs[0], xs[1], oh, ow];
          const want = resizeRef(xv, xs, oh, ow, mode, ac);
          const mag = resizeRef(xv.map(Math.abs), xs, oh, ow, mode, ac);
          assertClose(
            await values(out, outShape, dtype, title),
            want,
            tol(dtype, 'resize'),
            title,
            outShape,
            mag,
          );
        });
      }
    }
  });
}
