/**
 * Softmax and log-softmax over the last axis, one workgroup per row. The optional additive mask
 * broadcasts to x: its offset is the row's offset through the mask's leading strides plus the
 * column times its last stride. A row whose every entry is −∞ gives zeros, never NaN.
 */
import type { TensorInfo } from '@sea/tensor';
import { broadcastStrides, main, type Param, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { rowReduceWgsl } from './row_reduce.js';

const WG = 128;
const NEG_INF = '-inf_f32()';

function rowOffsetWgsl(lead: number, at: number): string {
  if (lead === 0) return 'var mrow = 0u;';
  return `var mrow = 0u; { var rem = row;
    for (var k = ${lead - 1}i; k >= 0; k--) { let d = pu(${at}u + 2u * u32(k)); mrow += (rem % d) * pu(${at + 1}u + 2u * u32(k)); rem = rem / d; } }`;
}

function run(b: WebGpuBackend, x: TensorInfo, mask: TensorInfo | null, log: boolean): TensorInfo {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const size = x.shape.reduce((a, d) => a * d, 1);
  const rows = n === 0 ? 0 : size / n;
  const out = b.alloc(size, x.dtype);
  const params: Param[] = [u(rows), u(n)];
  let load = 'x_ld(base + c)';
  let decl = '';
  if (mask) {
    const ms = broadcastStrides(mask.shape, x.shape);
    params.push(u(ms[ms.length - 1]));
    const at = params.length;
    for (let k = 0; k < x.shape.length - 1; k++) params.push(u(x.shape[k]), u(ms[k]));
    decl = rowOffsetWgsl(x.shape.length - 1, at);
    load = 'x_ld(base + c) + m_ld(mrow + c * pu(2u))';
  }
  // A NaN or +∞ in the row makes every output NaN (∞ − ∞ in the definition); checked on the bits,
  // since drivers differ on max() and exp() of NaN.
  const write = log
    ? 'y_st(base + c, select(v - mx - ls, nan_f32(), poison));'
    : 'y_st(base + c, select(select(exp(v - mx) / s, 0.0, mx == NEG), nan_f32(), poison));';
  const bad = 'bad = bad || isnan_f32(xv) || bitcast<u32>(xv) == 0x7f800000u;';
  // Many short rows: one thread per row (three passes over the row, from cache after the first);
  // otherwise one workgroup per row with tree reductions.
  const perThread = n <= 256 && rows >= 4096;
  const body = perThread
    ? `${main(WG)}
  let row = wg * ${WG}u + lid;
  if (row >= pu(0u)) { return; }
  let NEG = ${NEG_INF};
  let n = pu(1u);
  let base = row * n;
  ${decl}
  var mx = NEG;
  var bad = false;
  for (var c = 0u; c < n; c++) { let xv = ${load}; mx = max(mx, xv); ${bad} }
  let poison = bad;
  var s = 0.0;
  for (var c = 0u; c < n; c++) { s += exp(${load} - mx); }
  let ls = log(s);
  for (var c = 0u; c < n; c++) { let v = ${load}; ${write} }
}`
    : `${rowReduceWgsl(WG)}
${main(WG)}
  let row = wg;
  if (row >= pu(0u)) { return; }
  let NEG = ${NEG_INF};
  let n = pu(1u);
  let base = row * n;
  ${decl}
  var m = NEG;
  var bad = false;
  for (var c = lid; c < n; c += ${WG}u) { let xv = ${load}; m = max(m, xv); ${bad} }
  let mx = wg_max(m, lid);
  let poison = wg_max(select(0.0, 1.0, bad), lid) > 0.0;
  var s0 = 0.0;
  for (var c = lid; c < n; c += ${WG}u) { s0 += exp(${load} - mx); }
  let s = wg_sum(s0, lid);
  let ls = log(s);
  for (var c = lid; c < n; c += ${WG}u) { let v = ${load}; ${write} }
}`;
  b.run({
    name: log ? 'logSoftmax' : 'softmax',
    body,
    inputs: mask
      ? [
          { name: 'x', data: b.data(x) },
          { name: 'm', data: b.data(mask) },
        ]
      : [{ name: 'x', data: b.data(x) }],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(perThread ? Math.ceil(rows / WG) : rows),
  });
  return b.out(out, x.shape, x.dtype);
}

export function softmax(b: WebGpuBackend, x: TensorInfo, mask: TensorInfo | null): TensorInfo {
  return run(b, x, mask, false);
}

export function logSoftmax(b: WebGpuBackend, x: TensorInfo): TensorInfo {
  return run(b, x, null, true);
}
