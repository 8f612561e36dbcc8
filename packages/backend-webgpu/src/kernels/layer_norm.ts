/**
 * LayerNorm over the last axis: two-pass mean and biased variance; with activation 'gelu' the exact
 * GELU of each output before its store. Many short rows (n ≤ 1024): G threads a row, the row in
 * registers (groupedRows); otherwise one workgroup per row.
 */
import type { LayerNormActivation, TensorInfo } from '@sea/tensor';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { groupedRows, groupReduceWgsl, rowReduceWgsl } from './row_reduce.js';
import { ERF_WGSL } from './unary.js';

const WG = 128;
const GWG = 256;

export type RowVariant = 'grouped' | 'row';

export function layerNorm(
  b: WebGpuBackend,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  eps: number,
  activation: LayerNormActivation = 'none',
  variant?: RowVariant,
): TensorInfo {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const size = x.shape.reduce((a, d) => a * d, 1);
  const rows = n === 0 ? 0 : size / n;
  const out = b.alloc(size, x.dtype);
  const grouped = (variant ?? (n <= 1024 && rows >= 1024 ? 'grouped' : 'row')) === 'grouped' && n <= 1024;
  const gr = groupedRows(n, x.dtype !== 'float32');
  const gelu = activation === 'gelu';
  const act = (e: string) => (gelu ? `gelu_ln(${e})` : e);
  const head = gelu
    ? `${ERF_WGSL}\nfn gelu_ln(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476)); }\n`
    : '';
  const body = grouped
    ? `${head}${groupedBody(gr, gelu)}`
    : `${head}${rowReduceWgsl(WG)}
${main(WG)}
  let row = wg;
  if (row >= pu(0u)) { return; }
  let n = pu(1u);
  let base = row * n;
  var s0 = 0.0;
  for (var c = lid; c < n; c += ${WG}u) { s0 += x_ld(base + c); }
  let mean = wg_sum(s0, lid) / f32(n);
  var s1 = 0.0;
  for (var c = lid; c < n; c += ${WG}u) { let d = x_ld(base + c) - mean; s1 += d * d; }
  let rstd = 1.0 / sqrt(wg_sum(s1, lid) / f32(n) + pf(2u));
  for (var c = lid; c < n; c += ${WG}u) { y_st(base + c, ${act('(x_ld(base + c) - mean) * rstd * g_ld(c) + be_ld(c)')}); }
}`;
  b.run({
    name: gelu ? 'layerNorm_gelu' : 'layerNorm',
    body,
    inputs: [
      { name: 'x', data: b.data(x) },
      { name: 'g', data: b.data(gamma) },
      { name: 'be', data: b.data(beta) },
    ],
    outputs: [{ name: 'y', data: out, pairs: grouped && gr.U === 2 }],
    params: [u(rows), u(n), f(eps)],
    grid: b.grid(grouped ? Math.ceil(rows / (GWG / gr.G)) : rows),
  });
  return b.out(out, x.shape, x.dtype);
}

/** G threads a row, each with `units` units of it in registers (pairs of 16-bit values when U = 2). */
function groupedBody({ G, units, U }: ReturnType<typeof groupedRows>, gelu: boolean): string {
  const T = U === 1 ? 'f32' : 'vec2<f32>';
  const total = U === 1 ? 'xv[j]' : '(xv[j].x + xv[j].y)';
  const load = U === 1 ? 'x_ld(base + c)' : 'x_ld2((base + c) / 2u)';
  const gam = U === 1 ? 'g_ld(c)' : 'vec2<f32>(g_ld(c), g_ld(c + 1u))';
  const bet = U === 1 ? 'be_ld(c)' : 'vec2<f32>(be_ld(c), be_ld(c + 1u))';
  const store = U === 1 ? 'y_st(base + c, v)' : 'y_st2((base + c) / 2u, v)';
  return `${groupReduceWgsl(GWG, G)}
${main(GWG)}
  let row = wg * ${GWG / G}u + lid / ${G}u;
  let r = lid % ${G}u;
  let n = pu(1u);
  let ok = row < pu(0u);
  let base = row * n;
  var xv: array<${T}, ${units}>;
  var s0 = 0.0;
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    xv[j] = ${T}(0.0);
    if (ok && c < n) { xv[j] = ${load}; }
    s0 += ${total};
  }
  let mean = grp_sum(s0, lid) / f32(n);
  var s1 = 0.0;
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    if (ok && c < n) { let d = xv[j] - ${T}(mean); s1 += ${U === 1 ? 'd * d' : 'dot(d, d)'}; }
  }
  let rstd = 1.0 / sqrt(grp_sum(s1, lid) / f32(n) + pf(2u));
  for (var j = 0u; j < ${units}u; j++) {
    let c = (r + j * ${G}u) * ${U}u;
    if (ok && c < n) { let w = (xv[j] - ${T}(mean)) * rstd * ${gam} + ${bet}; let v = ${gelu ? (U === 1 ? 'gelu_ln(w)' : 'vec2<f32>(gelu_ln(w.x), gelu_ln(w.y))') : 'w'}; ${store}; }
  }
}`;
}
