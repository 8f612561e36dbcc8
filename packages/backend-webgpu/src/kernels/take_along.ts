/** take_along_axis on the last axis: x [..., N], idx int32 [..., M] → [..., M] (indices clamped). */
import type { TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function takeAlong(b: WebGpuBackend, x: TensorInfo, indices: TensorInfo): TensorInfo {
  const nx = x.shape[x.shape.length - 1];
  const m = indices.shape[indices.shape.length - 1];
  const n = indices.shape.reduce((a, d) => a * d, 1);
  const out = b.alloc(n, x.dtype);
  b.run({
    name: 'takeAlong',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  let row = idx / pu(1u);
  let j = u32(clamp(ix_ld(idx), 0i, i32(pu(2u)) - 1i));
  y_st(idx, x_ld(row * pu(2u) + j));
}`,
    inputs: [
      { name: 'x', data: b.data(x) },
      { name: 'ix', data: b.data(indices) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(m), u(nx)],
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, indices.shape, x.dtype);
}
