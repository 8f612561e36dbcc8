/** Embedding lookup: table [V, ...rest] gathered by int32 indices (clamped to [0, V)) → [...idx, ...rest]. */
import type { TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function gather(b: WebGpuBackend, table: TensorInfo, indices: TensorInfo): TensorInfo {
  const rest = table.shape.slice(1);
  const row = rest.reduce((a, d) => a * d, 1);
  const nIdx = indices.shape.reduce((a, d) => a * d, 1);
  const outShape = [...indices.shape, ...rest];
  const n = nIdx * row;
  const out = b.alloc(n, table.dtype);
  b.run({
    name: 'gather',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  let row = pu(1u);
  let i = idx / row;
  let r = idx - i * row;
  let t = u32(clamp(ix_ld(i), 0i, i32(pu(2u)) - 1i));
  y_st(idx, tb_ld(t * row + r));
}`,
    inputs: [
      { name: 'tb', data: b.data(table) },
      { name: 'ix', data: b.data(indices) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(n), u(row), u(table.shape[0])],
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, outShape, table.dtype);
}
