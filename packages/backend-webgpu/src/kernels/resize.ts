/**
 * x [B, C, H, W] → [B, C, outH, outW] with PyTorch `F.interpolate` semantics: nearest
 * (src = ⌊dst·in/out⌋, integer exact), bilinear (align_corners or half-pixel, clamped), area
 * (adaptive average pooling over [⌊i·in/out⌋, ⌈(i+1)·in/out⌉)).
 */
import type { TensorInfo } from '@sea/tensor';
import type { ResizeOptions } from '@sea/tensor/backend';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

function body(opts: ResizeOptions): string {
  switch (opts.mode) {
    case 'nearest':
      return `let sy = (oy * ih) / oh; let sx = (ox * iw) / ow;
  y_st(idx, x_ld(plane + sy * iw + sx));`;
    case 'bilinear': {
      const src = opts.alignCorners
        ? (o: string, i: string, d: string) =>
            `select(0.0, f32(${d}) * f32(${i} - 1u) / f32(${o} - 1u), ${o} > 1u)`
        : (o: string, i: string, d: string) => `max(0.0, (f32(${d}) + 0.5) * f32(${i}) / f32(${o}) - 0.5)`;
      return `let fy = ${src('oh', 'ih', 'oy')}; let fx = ${src('ow', 'iw', 'ox')};
  let y0 = min(u32(floor(fy)), ih - 1u); let x0 = min(u32(floor(fx)), iw - 1u);
  let y1 = min(y0 + 1u, ih - 1u); let x1 = min(x0 + 1u, iw - 1u);
  let ly = fy - f32(y0); let lx = fx - f32(x0);
  let top = x_ld(plane + y0 * iw + x0) * (1.0 - lx) + x_ld(plane + y0 * iw + x1) * lx;
  let bot = x_ld(plane + y1 * iw + x0) * (1.0 - lx) + x_ld(plane + y1 * iw + x1) * lx;
  y_st(idx, top * (1.0 - ly) + bot * ly);`;
    }
    case 'area':
      return `let ya = (oy * ih) / oh; let yb = ((oy + 1u) * ih + oh - 1u) / oh;
  let xa = (ox * iw) / ow; let xb = ((ox + 1u) * iw + ow - 1u) / ow;
  var s = 0.0;
  for (var yy = ya; yy < yb; yy++) { for (var xx = xa; xx < xb; xx++) { s += x_ld(plane + yy * iw + xx); } }
  y_st(idx, s / f32((yb - ya) * (xb - xa)));`;
  }
}

export function resize(
  b: WebGpuBackend,
  x: TensorInfo,
  outH: number,
  outW: number,
  opts: ResizeOptions,
): TensorInfo {
  const [B, C, H, W] = x.shape;
  const n = B * C * outH * outW;
  const out = b.alloc(n, 'float32');
  b.run({
    name: `resize_${opts.mode}`,
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  let ih = pu(1u); let iw = pu(2u); let oh = pu(3u); let ow = pu(4u);
  let ox = idx % ow; let t = idx / ow; let oy = t % oh; let bc = t / oh;
  let plane = bc * ih * iw;
  ${body(opts)}
}`,
    inputs: [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(H), u(W), u(outH), u(outW)],
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, [B, C, outH, outW], 'float32');
}
