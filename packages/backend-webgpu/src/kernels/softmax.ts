/**
 * Softmax and log-softmax over the last axis, one workgroup per row, or, for many short rows
 * without a mask, G threads a row with the row in registers (groupedRows). The optional additive mask
 * broadcasts to x: its offset is the row's offset through the mask's leading strides plus the
 * column times its last stride. A row whose every entry is −∞ gives zeros, never NaN.
 */
import type { TensorInfo } from '@sea/tensor';
import { broadcastStrides, main, type Param, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import type { RowVariant } from './layer_norm.js';
import { groupedRows, groupReduceWgsl, rowReduceWgsl } from './row_reduce.js';

const WG = 128;
const GWG = 256;
const NEG_INF = '-inf_f32()';

function rowOffsetWgsl(lead: number, at: number): string {
  if (lead === 0) return 'var mrow = 0u;';
  return `var mrow = 0u; { var rem = row;
    for (var k = ${lead - 1}i; k >= 0; k--) { let d = pu(${at}u + 2u * u32(k)); mrow += (rem % d) * pu(${at + 1}u + 2u * u32(k)); rem = rem / d; } }`;
}

function run(
  b: WebGpuBackend,
  x: TensorInfo,
  mask: TensorInfo | null,
  log: boolean,
  variant?: RowVariant,
): TensorInfo {
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
  const grouped = !mask && n <= 1024 && (variant ?? (rows >= 1024 ? 'grouped' : 'row')) === 'grouped';
  const gr = groupedRows(n, x.dtype !== 'float32');
  const body = grouped
    ? groupedBody(gr, log)
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
    outputs: [{ name: 'y', data: out, pairs: grouped && gr.U === 2 }],
    params,
    grid: b.grid(grouped ? Math.ceil(rows / (GWG / gr.G)) : rows),
  });
  return b.out(out, x.shape, x.dtype);
}

/** G threads a row, each with `units` units of it in registers (pairs of 16-bit values when U = 2). */
function groupedBody({ G, units, U }: ReturnType<typeof groupedRows>, log: boolean): string {
  const T = U === 1 ? 'f32' : 'vec2<f32>';
  const load = U === 1 ? 'x_ld(base + c)' : 'x_ld2((base + c) / 2u)';
  const store = U === 1 ? 'y_st(base + c, o)' : 'y_st2((base + c) / 2u, o)';
  const parts = U === 1 ? ['xv[j]'] : ['xv[j].x', 'xv[j].y'];
  const scan = parts
    .map((p) => `mx = max(mx, ${p}); bad = bad || isnan_f32(${p}) || bitcast<u32>(${p}) == 0x7f800000u;`)
    .join(' ');
  const expSum = U === 1 ? 'exp(xv[j] - mx)' : 'dot(exp(xv[j] - vec2<f32>(mx)), vec2<f32>(1.0))';
  const out = log
    ? `select(v - ${T}(mx) - ${T}(ls), ${T}(nan_f32()), poison)`
    : `select(select(exp(v - ${T}(mx)) / s, ${T}(0.0), mx == NEG), ${T}(nan_f32()), poison)`;
  return `${groupReduceWgsl(GWG, G)}
${main(GWG)}
  let row = wg * ${GWG / G}u + lid / ${G}u;
  let r = lid % ${G}u;
  let NEG = ${NEG_INF};
  let n = pu(1u);
  let ok = row < pu(0u);
  let base = row * n;
  var xv: array<${T}, ${units}>;
  var mx = NEG;
  var bad = false;
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    xv[j] = ${T}(NEG);
    if (ok && c < n) { xv[j] = ${load}; ${scan} }
  }
  mx = grp_max(mx, lid);
  let poison = grp_max(select(0.0, 1.0, bad), lid) > 0.0;
  var s0 = 0.0;
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    if (ok && c < n) { s0 += ${expSum}; }
  }
  let s = grp_sum(s0, lid);
  let ls = log(s);
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    if (ok && c < n) { let v = xv[j]; let o = ${out}; ${store}; }
  }
}`;
}

export function softmax(
  b: WebGpuBackend,
  x: TensorInfo,
  mask: TensorInfo | null,
  variant?: RowVariant,
): TensorInfo {
  return run(b, x, mask, false, variant);
}

export function logSoftmax(b: WebGpuBackend, x: TensorInfo, variant?: RowVariant): TensorInfo {
  return run(b, x, null, true, variant);
}
