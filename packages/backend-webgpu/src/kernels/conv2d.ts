/**
 * Direct 2-D convolution (PyTorch Conv2d, zero padding, groups): one thread per output pixel and
 * block of OB output channels of one group (held in registers), looping over the group's input
 * channels and the kernel window, so each input value is loaded once per OB outputs. A workgroup
 * covers 256 consecutive pixels of one channel block: its weight loads are the same address
 * across the workgroup and its input loads are coalesced.
 */
import type { TensorInfo } from '@sea/tensor';
import type { Conv2dOptions } from '@sea/tensor/backend';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function conv2d(
  b: WebGpuBackend,
  x: TensorInfo,
  w: TensorInfo,
  bias: TensorInfo | null,
  opts: Conv2dOptions,
  outShape: readonly number[],
): TensorInfo {
  const [, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  const [, , OH, OW] = outShape;
  const n = outShape.reduce((a, d) => a * d, 1);
  const out = b.alloc(n, x.dtype);
  const params = [
    n,
    C,
    H,
    W,
    O,
    Cg,
    kh,
    kw,
    OH,
    OW,
    ...opts.stride,
    ...opts.dilation,
    opts.padding[0],
    opts.padding[2],
    O / opts.groups,
  ].map(u);
  const og = O / opts.groups;
  // Output channels per thread: the largest of these dividing the group's channel count.
  const OB = [8, 6, 4, 3, 2, 1].find((v) => og % v === 0) ?? 1;
  const nOB = O / OB;
  const npix = n / O;
  const accs = Array.from({ length: OB }, (_, j) => j);
  b.run({
    name: opts.activation === 'relu' ? 'conv2d_relu' : 'conv2d',
    body: `${main(WG)}
  let ob = wg % ${nOB}u; let blk = wg / ${nOB}u;
  let p = blk * ${WG}u + lid;
  let npix = pu(0u) / pu(4u);
  if (p >= npix) { return; }
  let C = pu(1u); let H = pu(2u); let W = pu(3u); let O = pu(4u); let Cg = pu(5u);
  let kh = pu(6u); let kw = pu(7u); let OH = pu(8u); let OW = pu(9u);
  let sh = pu(10u); let sw = pu(11u); let dh = pu(12u); let dw = pu(13u);
  let pt = i32(pu(14u)); let pl = i32(pu(15u)); let og = pu(16u);
  let ox = p % OW; let t = p / OW; let oy = t % OH; let bi = t / OH;
  let o0 = ob * ${OB}u;
  let c0 = (o0 / og) * Cg;
  ${accs.map((j) => `var a${j} = ${bias ? `bs_ld(o0 + ${j}u)` : '0.0'};`).join(' ')}
  let wstride = Cg * kh * kw;
  for (var c = 0u; c < Cg; c++) {
    let xplane = (bi * C + c0 + c) * H * W;
    let wc = (o0 * Cg + c) * kh * kw;
    for (var ky = 0u; ky < kh; ky++) {
      let iy = i32(oy * sh + ky * dh) - pt;
      if (iy < 0i || iy >= i32(H)) { continue; }
      for (var kx = 0u; kx < kw; kx++) {
        let ix = i32(ox * sw + kx * dw) - pl;
        if (ix < 0i || ix >= i32(W)) { continue; }
        let xv = x_ld(xplane + u32(iy) * W + u32(ix));
        let wi = wc + ky * kw + kx;
        ${accs.map((j) => `a${j} = fma(xv, w_ld(wi + ${j}u * wstride), a${j});`).join('\n        ')}
      }
    }
  }
  let ob0 = ((bi * O + o0) * OH + oy) * OW + ox;
  let plane = OH * OW;
  ${accs.map((j) => `y_st(ob0 + ${j}u * plane, ${opts.activation === 'relu' ? `select(0.0, a${j}, a${j} > 0.0 || a${j} != a${j})` : `a${j}`});`).join('\n  ')}
}`,
    inputs: [
      { name: 'x', data: b.data(x) },
      { name: 'w', data: b.data(w) },
      ...(bias ? [{ name: 'bs', data: b.data(bias) }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(npix / WG) * nOB),
  });
  return b.out(out, outShape, x.dtype);
}
