import {
  type Conv2dOptions,
  DTypeError,
  type ResizeOptions,
  type Shape,
  sizeOf,
  type TensorInfo,
} from '@sea/tensor';
import type { CudaBackend } from '../cuda_backend.js';

function float32Only(op: string, x: TensorInfo): void {
  if (x.dtype !== 'float32') throw new DTypeError(`cuda ${op} computes in float32, got ${x.dtype}`);
}

/** Output channels per thread of conv2d_oblock (OB in conv.cu). */
const OBLOCK = 8;
/** Consecutive output positions per thread of conv2d_oblock (PP in conv.cu). */
const OPOS = 4;

/**
 * PyTorch Conv2d, direct, float32 accumulation. groups = 1 with the weights of 8 output channels
 * fitting shared memory: one thread per 4 positions of an output row and 8 channels (conv2d_oblock); otherwise
 * one thread per output element.
 */
export function conv2d(
  b: CudaBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  opts: Conv2dOptions,
  outShape: Shape,
): TensorInfo {
  float32Only('conv2d', x);
  const [B, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , OH, OW] = outShape;
  const total = sizeOf(outShape);
  const out = b.output(outShape, 'float32', total);
  if (total === 0) return out;
  b.params
    .ptr(0, b.ptr(x))
    .ptr(1, b.ptr(w))
    .ptr(2, bias ? b.ptr(bias) : 0n)
    .ptr(3, b.ptr(out))
    .ints(4, [
      B,
      C,
      H,
      W,
      O,
      Cg,
      kh,
      kw,
      OH,
      OW,
      opts.stride[0],
      opts.stride[1],
      opts.dilation[0],
      opts.dilation[1],
      opts.padding[0],
      opts.padding[2],
      opts.groups,
      bias ? 1 : 0,
    ]);
  const taps = C * kh * kw;
  if (opts.groups === 1 && taps * OBLOCK * 4 <= 48 * 1024) {
    const groups = B * OH * Math.ceil(OW / OPOS);
    b.launch(
      b.fn('conv', 'conv2d_oblock'),
      [b.blocks(groups), Math.ceil(O / OBLOCK)],
      [256],
      taps * OBLOCK * 4,
    );
  } else b.launch(b.fn('conv', 'conv2d_direct'), [b.blocks(total)], [256]);
  return out;
}

const MODES = { nearest: 0, bilinear: 1, area: 2 } as const;

export function resize(
  b: CudaBackend,
  x: TensorInfo,
  outH: number,
  outW: number,
  opts: ResizeOptions,
): TensorInfo {
  float32Only('resize', x);
  const [B, C, H, W] = x.shape;
  const total = B * C * outH * outW;
  const out = b.output([B, C, outH, outW], 'float32', total);
  if (total === 0) return out;
  if (opts.mode === 'nearest' && outH % H === 0 && outW % W === 0) {
    const n = B * C * outH * W;
    b.params
      .ptr(0, b.ptr(x))
      .ptr(1, b.ptr(out))
      .i64(2, n)
      .i32(3, H)
      .i32(4, W)
      .i32(5, outH)
      .i32(6, outH / H)
      .i32(7, outW / W);
    b.launch(b.fn('conv', 'resize_nearest_int'), [b.blocks(n)], [256]);
    return out;
  }
  b.params
    .ptr(0, b.ptr(x))
    .ptr(1, b.ptr(out))
    .i64(2, B * C)
    .i32(3, H)
    .i32(4, W)
    .i32(5, outH)
    .i32(6, outW)
    .i32(7, MODES[opts.mode])
    .i32(8, opts.alignCorners ? 1 : 0);
  b.launch(b.fn('conv', 'resize2d'), [b.blocks(total)], [256]);
  return out;
}
