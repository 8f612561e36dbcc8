/** Constant padding: pads[k] = [before, after] on axis k. */
import type { TensorInfo } from '@sea/tensor';
import { f, i, main, type Param, stridesOf, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function pad(
  b: WebGpuBackend,
  x: TensorInfo,
  pads: readonly (readonly [number, number])[],
  value: number,
): TensorInfo {
  const outShape = x.shape.map((d, k) => d + pads[k][0] + pads[k][1]);
  const n = outShape.reduce((a, d) => a * d, 1);
  const out = b.alloc(n, x.dtype);
  const rank = x.shape.length;
  const st = stridesOf(x.shape);
  const v: Param =
    x.dtype !== 'int32' && x.dtype !== 'bool' ? f(value) : x.dtype === 'int32' ? i(value) : u(value ? 1 : 0);
  const rd = x.dtype !== 'int32' && x.dtype !== 'bool' ? 'pf' : x.dtype === 'int32' ? 'pi' : 'pu';
  const params: Param[] = [u(n), v];
  for (let k = 0; k < rank; k++) params.push(u(outShape[k]), u(pads[k][0]), u(x.shape[k]), u(st[k]));
  b.run({
    name: 'pad',
    body: `${main(WG)}
  let idx = wg * ${WG}u + lid;
  if (idx >= pu(0u)) { return; }
  var rem = idx;
  var off = 0u;
  var inside = true;
  for (var k = ${rank - 1}i; k >= 0; k--) {
    let a = 2u + 4u * u32(k);
    let d = pu(a); let c = rem % d; rem = rem / d;
    let ci = i32(c) - i32(pu(a + 1u));
    if (ci < 0i || ci >= i32(pu(a + 2u))) { inside = false; } else { off += u32(ci) * pu(a + 3u); }
  }
  if (inside) { y_st(idx, x_ld(off)); } else { y_st(idx, ${rd}(1u)); }
}`,
    inputs: [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil(n / WG)),
  });
  return b.out(out, outShape, x.dtype);
}
