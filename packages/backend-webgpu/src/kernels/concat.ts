/** Concatenation along one axis: one copy dispatch per input into its slab of the output. */
import type { TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { GpuData, WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function concat(b: WebGpuBackend, xs: readonly TensorInfo[], axis: number): TensorInfo {
  const first = xs[0];
  const total = xs.reduce((a, t) => a + t.shape[axis], 0);
  const outShape = first.shape.map((d, k) => (k === axis ? total : d));
  const inner = first.shape.slice(axis + 1).reduce((a, d) => a * d, 1);
  const n = outShape.reduce((a, d) => a * d, 1);
  const out: GpuData = b.alloc(n, first.dtype);
  let at = 0;
  for (const x of xs) {
    const len = x.shape[axis];
    const m = x.shape.reduce((a, d) => a * d, 1);
    if (m > 0) {
      b.run({
        name: 'concat',
        body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  let slab = pu(1u) * pu(2u);
  let o = idx / slab;
  let r = idx - o * slab;
  y_st(o * pu(3u) * pu(2u) + pu(4u) * pu(2u) + r, x_ld(idx));
}`,
        inputs: [{ name: 'x', data: b.data(x) }],
        outputs: [{ name: 'y', data: out }],
        params: [u(m), u(len), u(inner), u(total), u(at)],
        grid: b.grid(Math.ceil(m / WG)),
      });
    }
    at += len;
  }
  return b.out(out, outShape, first.dtype);
}
