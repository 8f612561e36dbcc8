/**
 * Direct 2-D convolution (PyTorch Conv2d, zero padding, groups): one thread per output element,
 * looping over the group's input channels and the kernel window.
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
  const out = b.alloc(n, 'float32');
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
  b.run({
    name: 'conv2d',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  let C = pu(1u); let H = pu(2u); let W = pu(3u); let O = pu(4u); let Cg = pu(5u);
  let kh = pu(6u); let kw = pu(7u); let OH = pu(8u); let OW = pu(9u);
  let sh = pu(10u); let sw = pu(11u); let dh = pu(12u); let dw = pu(13u);
  let pt = i32(pu(14u)); let pl = i32(pu(15u)); let og = pu(16u);
  let ox = idx % OW; var t = idx / OW; let oy = t % OH; t = t / OH; let o = t % O; let bi = t / O;
  let c0 = (o / og) * Cg;
  var s = ${bias ? 'bs_ld(o)' : '0.0'};
  for (var c = 0u; c < Cg; c++) {
    let xplane = (bi * C + c0 + c) * H * W;
    let wbase = (o * Cg + c) * kh * kw;
    for (var ky = 0u; ky < kh; ky++) {
      let iy = i32(oy * sh + ky * dh) - pt;
      if (iy < 0i || iy >= i32(H)) { continue; }
      for (var kx = 0u; kx < kw; kx++) {
        let ix = i32(ox * sw + kx * dw) - pl;
        if (ix < 0i || ix >= i32(W)) { continue; }
        s += x_ld(xplane + u32(iy) * W + u32(ix)) * w_ld(wbase + ky * kw + kx);
      }
    }
  }
  y_st(idx, s);
}`,
    inputs: [
      { name: 'x', data: b.data(x) },
      { name: 'w', data: b.data(w) },
      ...(bias ? [{ name: 'bs', data: b.data(bias) }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, outShape, 'float32');
}
