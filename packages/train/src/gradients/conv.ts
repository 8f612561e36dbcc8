import type { ResizeMode, Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import type { Conv2dOptions } from '@sea/tensor/backend';
import { registerGradient } from '../tape.js';
import { attr } from './util.js';

/** Reverses `axis` of x (a gather of reversed rows after moving the axis to the front). */
function flip(x: Tensor, axis: number): Tensor {
  const n = x.shape[axis];
  const front = [axis, ...x.shape.map((_, i) => i).filter((i) => i !== axis)];
  const back = new Array<number>(x.rank);
  front.forEach((p, i) => {
    back[p] = i;
  });
  const rev = sea.arange(n - 1, -1, { backend: x.backend, dtype: 'int32', step: -1 });
  return sea.transpose(sea.gather(sea.transpose(x, front), rev), back);
}

/** Inserts stride−1 zeros between the rows and columns of dy [B,O,oh,ow]. */
function dilate(dy: Tensor, [sh, sw]: [number, number]): Tensor {
  if (sh === 1 && sw === 1) return dy;
  const [B, O, oh, ow] = dy.shape;
  const spread = sea.pad(dy.reshape([B, O, oh, 1, ow, 1]), [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
  ]);
  return sea.slice(
    spread.reshape([B, O, oh * sh, ow * sw]),
    [0, 0, 0, 0],
    [B, O, (oh - 1) * sh + 1, (ow - 1) * sw + 1],
  );
}

/**
 * dx of a convolution: the transposed convolution, as a stride-1 convolution of the stride-dilated
 * dy with the flipped kernel (in/out channels swapped per group). Padding that would be negative
 * (input rows the forward never read, or padding wider than the kernel reach) becomes a crop.
 */
function convInputGrad(dy: Tensor, x: Tensor, w: Tensor, o: Conv2dOptions): Tensor {
  const [, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const g = o.groups;
  const [dh, dw] = o.dilation;
  const [pt, , pl] = o.padding;
  let d = dilate(dy, o.stride);
  const [B, , Lh, Lw] = d.shape;
  const top = dh * (kh - 1) - pt;
  const bottom = H + pt - Lh;
  const left = dw * (kw - 1) - pl;
  const right = W + pl - Lw;
  const crop = [Math.max(0, -top), Math.max(0, -bottom), Math.max(0, -left), Math.max(0, -right)];
  if (crop.some((c) => c > 0)) {
    d = sea.slice(d, [0, 0, crop[0], crop[2]], [B, O, Lh - crop[0] - crop[1], Lw - crop[2] - crop[3]]);
  }
  const wf = flip(flip(w, 2), 3);
  const og = O / g;
  const wt = sea.transpose(wf.reshape([g, og, Cg, kh, kw]), [0, 2, 1, 3, 4]).reshape([C, og, kh, kw]);
  return sea.conv2d(d, wt, null, {
    dilation: o.dilation,
    padding: [Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)],
    groups: g,
  });
}

/**
 * dw[o,c,a,b] = Σ_{n,t,u} x_pad[n,c,a·dh+t·sh,b·dw+u·sw]·dy[n,o,t,u]. Stride 1: one GEMM per kernel
 * tap (a, b) over every (n, t, u). Otherwise: a convolution of x (batch and channels swapped) with dy
 * as the kernel, stride = the forward dilation, dilation = the forward stride; one per group.
 */
function convWeightGrad(dy: Tensor, x: Tensor, w: Tensor, o: Conv2dOptions): Tensor {
  const [B, , H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , oh, ow] = dy.shape;
  const og = O / o.groups;
  const parts: Tensor[] = [];
  const stride1 = o.stride[0] === 1 && o.stride[1] === 1;
  const xp = stride1
    ? sea.pad(x, [
        [0, 0],
        [0, 0],
        [o.padding[0], o.padding[1]],
        [o.padding[2], o.padding[3]],
      ])
    : null;
  for (let gi = 0; gi < o.groups; gi++) {
    const dyg = o.groups === 1 ? dy : sea.slice(dy, [0, gi * og, 0, 0], [B, og, oh, ow]);
    if (xp) {
      // stride 1: dw[:, :, a, b] = dy [og, B·oh·ow] · x_pad[:, c, a·dh + t, b·dw + u]ᵀ, one GEMM per
      // kernel tap over all B·oh·ow positions (a direct convolution with dy as its kernel has one
      // thread per weight, each summing B·oh·ow products in a row)
      const n = B * oh * ow;
      const dyR = (B === 1 ? dyg : sea.transpose(dyg, [1, 0, 2, 3])).reshape([og, n]);
      const taps: Tensor[] = [];
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          const xs = sea.slice(xp, [0, gi * Cg, a * o.dilation[0], b * o.dilation[1]], [B, Cg, oh, ow]);
          const xR = (B === 1 ? xs : sea.transpose(xs, [1, 0, 2, 3])).reshape([Cg, n]);
          taps.push(sea.matmul(dyR, xR, { transB: true }).reshape([og, Cg, 1]));
        }
      }
      parts.push((taps.length === 1 ? taps[0] : sea.concat(taps, 2)).reshape([og, Cg, kh, kw]));
      continue;
    }
    const xg = o.groups === 1 ? x : sea.slice(x, [0, gi * Cg, 0, 0], [B, Cg, H, W]);
    const full = sea.conv2d(sea.transpose(xg, [1, 0, 2, 3]), sea.transpose(dyg, [1, 0, 2, 3]), null, {
      stride: o.dilation,
      dilation: o.stride,
      padding: o.padding,
    });
    const cut =
      full.shape[2] === kh && full.shape[3] === kw ? full : sea.slice(full, [0, 0, 0, 0], [Cg, og, kh, kw]);
    parts.push(sea.transpose(cut, [1, 0, 2, 3]));
  }
  return parts.length === 1 ? parts[0] : sea.concat(parts, 0);
}

/** The [in, out] matrix of one axis of a separable resize, by resizing the identity. */
function axisMatrix(x: Tensor, inn: number, out: number, mode: ResizeMode, alignCorners: boolean): Tensor {
  const eye = new Float64Array(inn * inn);
  for (let i = 0; i < inn; i++) eye[i * inn + i] = 1;
  const e = sea.tensor(x.dtype === 'float64' ? eye : Float32Array.from(eye), [inn, 1, inn, 1], {
    backend: x.backend,
    dtype: x.dtype,
  });
  return sea.resize(e, [out, 1], mode, { alignCorners }).reshape([inn, out]);
}

export function registerConvGradients(): void {
  registerGradient('conv2d', (dy, { inputs: [x, w], attrs, needs }) => {
    const o = attrs as unknown as Conv2dOptions;
    return [
      needs[0] ? convInputGrad(dy, x!, w!, o) : null,
      needs[1] ? convWeightGrad(dy, x!, w!, o) : null,
      needs[2] ? sea.sum(dy, [0, 2, 3]) : null,
    ];
  });
  // resize is linear and separable, y = R_h·x·R_wᵀ per (b, c), so dx = R_hᵀ·dy·R_w
  registerGradient('resize', (dy, { inputs: [x], attrs }) => {
    const [, , H, W] = x!.shape;
    const [oh, ow] = attr<[number, number]>(attrs, 'size');
    const mode = attr<ResizeMode>(attrs, 'mode');
    const ac = attr<boolean>(attrs, 'alignCorners');
    const rh = axisMatrix(x!, H, oh, mode, ac); // [H, oh]
    const rw = axisMatrix(x!, W, ow, mode, ac); // [W, ow]
    return [sea.matmul(sea.matmul(rh, dy), rw, { transB: true })];
  });
}
