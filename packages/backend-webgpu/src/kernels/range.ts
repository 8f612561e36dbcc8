/** y[i] = start + i·step: float dtypes in float32 (then stored), int32 in wrapping i32 arithmetic. */
import type { DType, TensorInfo } from '@sea/tensor';
import { f, i, main, type Param, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function range(
  b: WebGpuBackend,
  size: number,
  start: number,
  step: number,
  dtype: DType,
): TensorInfo & { shape: [number] } {
  const out = b.alloc(size, dtype);
  const int = dtype === 'int32';
  const params: Param[] = [u(size), int ? i(start) : f(start), int ? i(step) : f(step)];
  const value = int ? 'pi(1u) + i32(idx) * pi(2u)' : 'pf(1u) + f32(idx) * pf(2u)';
  b.run({
    name: 'range',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  y_st(idx, ${value});
}`,
    inputs: [],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(size / WG)),
  });
  return b.out(out, [size], dtype) as TensorInfo & { shape: [number] };
}
