/** Axis permutation: output axis k reads input axis perm[k] (one thread per output element). */
import type { TensorInfo } from '@sea/tensor';
import { main, offsetsFromIndex, type Param, stridesOf, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

/** Copies `x` into a new buffer of `outShape`, reading input offset base + Σ coord_k·strides[k]. */
export function stridedCopy(
  b: WebGpuBackend,
  name: string,
  x: TensorInfo,
  outShape: readonly number[],
  strides: readonly number[],
  base: number,
): TensorInfo {
  const n = outShape.reduce((a, d) => a * d, 1);
  const out = b.alloc(n, x.dtype);
  const rank = outShape.length;
  const params: Param[] = [u(n), u(base), ...outShape.map(u), ...strides.map(u)];
  b.run({
    name,
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  ${offsetsFromIndex(rank, 1, 2, 2 + rank)}
  y_st(idx, x_ld(pu(1u) + o0));
}`,
    inputs: [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, outShape, x.dtype);
}

export function transpose(b: WebGpuBackend, x: TensorInfo, perm: readonly number[]): TensorInfo {
  const st = stridesOf(x.shape);
  return stridedCopy(
    b,
    'transpose',
    x,
    perm.map((p) => x.shape[p]),
    perm.map((p) => st[p]),
    0,
  );
}
