/** Inclusive or exclusive prefix sums along one axis, optionally from the end: one thread per line. */
import type { TensorInfo } from '@sea/tensor';
import { computeType, main, u, wgslType } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 128;

export function cumsum(
  b: WebGpuBackend,
  x: TensorInfo,
  axis: number,
  exclusive: boolean,
  reverse: boolean,
): TensorInfo {
  const len = x.shape[axis];
  const inner = x.shape.slice(axis + 1).reduce((a, d) => a * d, 1);
  const outer = x.shape.slice(0, axis).reduce((a, d) => a * d, 1);
  const lines = outer * inner;
  const n = lines * len;
  const out = b.alloc(n, x.dtype);
  const t = computeType(wgslType(x.dtype, b.nativeF16));
  b.run({
    name: 'cumsum',
    body: `${main(WG)}
  let line = wg * ${WG}u + lid;
  if (line >= pu(0u)) { return; }
  let len = pu(1u); let inner = pu(2u);
  let o = line / inner;
  let base = o * len * inner + (line - o * inner);
  var acc = ${t}(0);
  for (var s = 0u; s < len; s++) {
    let j = ${reverse ? 'len - 1u - s' : 's'};
    let v = x_ld(base + j * inner);
    ${exclusive ? 'y_st(base + j * inner, acc); acc += v;' : 'acc += v; y_st(base + j * inner, acc);'}
  }
}`,
    inputs: [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params: [u(lines), u(len), u(inner)],
    grid: b.grid(Math.ceil(lines / WG)),
  });
  return b.out(out, x.shape, x.dtype);
}
