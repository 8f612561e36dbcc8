import { DTypeError, type Shape, sizeOf, type TensorInfo } from '@sea/tensor';
import type { Conv2dOptions, ResizeOptions } from '@sea/tensor/backend';
import { type CudaBackend, floatSuffix } from '../cuda_backend.js';

function float32Only(op: string, x: TensorInfo): void {
  if (x.dtype !== 'float32') throw new DTypeError(`cuda ${op} computes in float32, got ${x.dtype}`);
}

/** One conv2d_oblock* instance: OB output channels × PP positions per thread, kernel size fixed or any. */
export interface ConvOblock {
  readonly name: string;
  readonly ob: number;
  readonly pp: number;
  /** [kh, kw] compiled in; absent: any. */
  readonly k?: readonly [number, number];
}

/**
 * The channel-blocked conv2d instances of conv.cu the op picks from, in order: the first whose OB
 * divides O and whose kernel size fits (the last, OB 8, takes any O with a partial channel block).
 */
export const CONV_OBLOCKS: readonly ConvOblock[] = [
  { name: 'conv2d_ob24p2_k3', ob: 24, pp: 2, k: [3, 3] },
  { name: 'conv2d_ob12p4_k3', ob: 12, pp: 4, k: [3, 3] },
  { name: 'conv2d_ob12p4_k1', ob: 12, pp: 4, k: [1, 1] },
  { name: 'conv2d_ob12p4', ob: 12, pp: 4 },
  { name: 'conv2d_oblock', ob: 8, pp: 4 },
];
/** Every instance (the benchmark times each; all sum in the same order, so they agree bit for bit). */
export const CONV_OBLOCKS_ALL: readonly ConvOblock[] = [
  ...CONV_OBLOCKS,
  { name: 'conv2d_ob24p2', ob: 24, pp: 2 },
  { name: 'conv2d_ob24p4', ob: 24, pp: 4 },
  { name: 'conv2d_ob12p8_k3', ob: 12, pp: 8, k: [3, 3] },
  { name: 'conv2d_ob12p8_k1', ob: 12, pp: 8, k: [1, 1] },
];

/** Whether instance `k` computes a conv with O output channels and a kh×kw kernel. */
export function convOblockFits(k: ConvOblock, O: number, kh: number, kw: number): boolean {
  return (k.ob === 8 || O % k.ob === 0) && (!k.k || (k.k[0] === kh && k.k[1] === kw));
}

/** The conv2d_oblock* instance for O output channels and a kh×kw kernel (groups = 1). */
export function convOblockFor(O: number, kh: number, kw: number): ConvOblock {
  return CONV_OBLOCKS.find((k) => convOblockFits(k, O, kh, kw)) ?? CONV_OBLOCKS[CONV_OBLOCKS.length - 1];
}

/**
 * PyTorch Conv2d, float32 accumulation. 16-bit with groups 1, stride 1 and O ≤ 32: on the tensor cores
 * (`conv2dMmaPlan`) unless `b.convMma` is off. Otherwise direct: groups = 1 with the weights of a channel block
 * fitting shared memory: one thread per PP positions of an output row and OB channels
 * (conv2d_oblock*, {@link convOblockFor}; `kernel` overrides the choice); otherwise one thread per
 * output element.
 */
export function conv2d(
  b: CudaBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  opts: Conv2dOptions,
  outShape: Shape,
  kernel?: ConvOblock,
): TensorInfo {
  const sfx = floatSuffix('conv2d', x.dtype);
  const [B, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , OH, OW] = outShape;
  const total = sizeOf(outShape);
  const mma = sfx && !kernel && b.convMma ? conv2dMmaPlan(x, w, opts) : null;
  if (sfx && !mma && !conv2dHalfFits(x, w, opts))
    throw new DTypeError(`cuda conv2d in ${x.dtype} needs groups = 1 and C·kh·kw ≤ 1024 (float32 takes any)`);
  const out = b.output(outShape, x.dtype, total);
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
      (bias ? 1 : 0) | (opts.activation === 'relu' ? 2 : 0),
    ]);
  const taps = C * kh * kw;
  if (mma) {
    b.launch(
      b.fn('conv', `conv2d_mma_n${mma.nt}m${mma.mt}${sfx}`),
      [Math.ceil(OH / 8), Math.ceil(OW / (16 * mma.mt)), B],
      [256],
      mma.smem,
    );
    return out;
  }
  const k = kernel && convOblockFits(kernel, O, kh, kw) ? kernel : convOblockFor(O, kh, kw);
  if (opts.groups === 1 && taps * k.ob * 4 <= 48 * 1024) {
    const groups = B * OH * Math.ceil(OW / k.pp);
    b.launch(
      b.fn('conv', `${k.name}${sfx}`),
      [b.blocks(groups), Math.ceil(O / k.ob)],
      [256],
      taps * k.ob * 4,
    );
  } else b.launch(b.fn('conv', 'conv2d_direct'), [b.blocks(total)], [256]);
  return out;
}

/**
 * The tensor-core instance (conv2d_mma_n{nt}m{mt}_* in conv.cu) for a 16-bit conv, or null: groups
 * 1, stride 1, O ≤ 32 (nt tiles of 8 channels), a window and weights that fit 48 KiB of shared memory
 * with 64 (mt 4) or else 32 (mt 2) output columns a block.
 */
export function conv2dMmaPlan(
  x: TensorInfo,
  w: TensorInfo,
  opts: Conv2dOptions,
): { nt: number; mt: number; smem: number } | null {
  const [, C] = x.shape;
  const [O, , kh, kw] = w.shape;
  if (opts.groups !== 1 || opts.stride[0] !== 1 || opts.stride[1] !== 1 || O > 32 || O === 0) return null;
  const nt = Math.max(2, Math.ceil(O / 8));
  const Kp = Math.ceil((C * kh * kw) / 16) * 16;
  const IR = 8 + (kh - 1) * opts.dilation[0];
  for (const mt of [4, 2]) {
    const IW = 16 * mt + (kw - 1) * opts.dilation[1];
    const smem = Math.ceil((C * IR * IW + 1) / 8) * 16 + 16 * nt * Kp + 4 * Kp;
    if (smem <= 48 * 1024) return { nt, mt, smem };
  }
  return null;
}

/** Whether a 16-bit conv2d has a channel-blocked instance (groups 1, the weights of 24 channels in 48 KiB). */
export function conv2dHalfFits(x: TensorInfo, w: TensorInfo, opts: Conv2dOptions): boolean {
  const [, C] = x.shape;
  const [, , kh, kw] = w.shape;
  return opts.groups === 1 && C * kh * kw * 24 * 4 <= 48 * 1024;
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
  const rows = B * C * H;
  if (opts.mode === 'area' && outH === H && Math.ceil(rows / 16) <= 65535) {
    // width only: one thread per output column over 16 rows (AREA_RP in conv.cu)
    b.params.ptr(0, b.ptr(x)).ptr(1, b.ptr(out)).i64(2, rows).i32(3, W).i32(4, outW);
    b.launch(b.fn('conv', 'resize_area_w'), [Math.ceil(outW / 256), Math.ceil(rows / 16)], [256]);
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
