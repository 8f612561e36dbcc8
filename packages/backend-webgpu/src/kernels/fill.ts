/** A new tensor with every element equal to `value`. */
import type { DType, TensorInfo } from '@sea/tensor';
import { f, i, main, type Param, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function fill(
  b: WebGpuBackend,
  size: number,
  value: number,
  dtype: DType,
): TensorInfo & { shape: [number] } {
  const out = b.alloc(size, dtype);
  const v: Param =
    dtype !== 'int32' && dtype !== 'bool' ? f(value) : dtype === 'int32' ? i(value) : u(value ? 1 : 0);
  const t = dtype !== 'int32' && dtype !== 'bool' ? 'pf' : dtype === 'int32' ? 'pi' : 'pu';
  b.run({
    name: 'fill',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  y_st(idx, ${t}(1u));
}`,
    inputs: [],
    outputs: [{ name: 'y', data: out }],
    params: [u(size), v],
    grid: b.grid(Math.ceil(size / WG)),
  });
  return b.out(out, [size], dtype) as TensorInfo & { shape: [number] };
}
