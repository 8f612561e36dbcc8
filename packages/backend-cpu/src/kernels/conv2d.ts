import type { Shape, TensorInfo, TypedArray } from '@sea/tensor';
import { allocArray, type Conv2dOptions } from '@sea/tensor/backend';
import type { CpuBackend } from '../cpu_backend.js';
import { gemm, gemmScratchB, simdScratchF32 } from './matmul.js';

/** Output pixels unrolled per im2col chunk: keeps the column buffer (C/g·kh·kw × chunk) cache-sized. */
const CHUNK = 4096;

/**
 * PyTorch Conv2d (cross-correlation, zero padding [top, bottom, left, right], stride, dilation,
 * groups) as im2col + GEMM: per batch element and group, the weights [O/g, C/g·kh·kw] multiply
 * column blocks of whole output rows. A 1×1, stride-1, unpadded conv skips im2col and multiplies
 * the input planes directly.
 */
export function conv2d(
  b: CpuBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  opts: Conv2dOptions,
  outShape: Shape,
): TensorInfo {
  const [B, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , OH, OW] = outShape;
  const [sh, sw] = opts.stride;
  const [dh, dw] = opts.dilation;
  const [pt, , pl] = opts.padding;
  const G = opts.groups;
  const Og = O / G;
  const xv = b.values(x);
  const wv = b.values(w);
  const out = allocArray(x.dtype, B * O * OH * OW);
  const P = OH * OW;
  const Kd = Cg * kh * kw;
  const direct = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W;
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK / OW));
  const colSize = Kd * Math.min(OH, rowsPerChunk) * OW;
  // float32 columns go straight into the SIMD module's memory, where the GEMM reads them unpacked
  const scratch = !direct && x.dtype === 'float32' ? simdScratchF32(colSize) : null;
  const col: TypedArray = direct ? xv : (scratch ?? allocArray(x.dtype, colSize));
  for (let n = 0; n < B; n++) {
    for (let g = 0; g < G; g++) {
      const wOff = g * Og * Kd;
      const xOff = (n * C + g * Cg) * H * W;
      const cOff = (n * O + g * Og) * P;
      if (direct) {
        gemm(Og, P, Cg, wv, wOff, Kd, 1, xv, xOff, H * W, 1, out, cOff, P);
        continue;
      }
      for (let r0 = 0; r0 < OH; r0 += rowsPerChunk) {
        const rows = Math.min(rowsPerChunk, OH - r0);
        const np = rows * OW;
        im2col(xv, xOff, H, W, Cg, kh, kw, sh, sw, dh, dw, pt, pl, r0, rows, OW, col);
        if (scratch) gemmScratchB(Og, np, Kd, wv, wOff, Kd, 1, 0, np, out, cOff + r0 * OW, P);
        else gemm(Og, np, Kd, wv, wOff, Kd, 1, col, 0, np, 1, out, cOff + r0 * OW, P);
      }
    }
  }
  if (bias) {
    const bv = b.values(bias);
    for (let n = 0; n < B; n++) {
      for (let o = 0; o < O; o++) {
        const v = bv[o];
        const base = (n * O + o) * P;
        for (let p = 0; p < P; p++) out[base + p] += v;
      }
    }
  }
  if (opts.activation === 'relu') for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  return b.out(out, outShape, x.dtype);
}

/** col[(c·kh + i)·kw + j, r·OW + ow] = x[c, (r0+r)·sh − pt + i·dh, ow·sw − pl + j·dw] (0 outside). */
function im2col(
  x: TypedArray,
  xOff: number,
  H: number,
  W: number,
  Cg: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  dh: number,
  dw: number,
  pt: number,
  pl: number,
  r0: number,
  rows: number,
  OW: number,
  col: TypedArray,
): void {
  const np = rows * OW;
  let q = 0;
  for (let c = 0; c < Cg; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, q++) {
        const shift = j * dw - pl;
        // output columns whose input column lies inside [0, W)
        const lo = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
        const hi = Math.max(lo, Math.min(OW, Math.floor((W - 1 - shift) / sw) + 1));
        for (let r = 0; r < rows; r++) {
          const o = q * np + r * OW;
          const ih = (r0 + r) * sh - pt + i * dh;
          if (ih < 0 || ih >= H) {
            col.fill(0, o, o + OW);
            continue;
          }
          const src = xOff + (c * H + ih) * W + shift;
          if (lo > 0) col.fill(0, o, o + lo);
          if (sw === 1) col.set(x.subarray(src + lo, src + hi), o + lo);
          else for (let ow = lo; ow < hi; ow++) col[o + ow] = x[src + ow * sw];
          if (hi < OW) col.fill(0, o + hi, o + OW);
        }
      }
    }
  }
}
