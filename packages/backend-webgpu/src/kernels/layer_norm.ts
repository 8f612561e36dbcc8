/**
 * LayerNorm over the last axis, one workgroup per row: two-pass mean and biased variance; with
 * activation 'gelu' the exact GELU of each output before its store.
 */
import type { LayerNormActivation, TensorInfo } from '@sea/tensor';
import { f, main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { rowReduceWgsl } from './row_reduce.js';
import { ERF_WGSL } from './unary.js';

const WG = 128;

export function layerNorm(
  b: WebGpuBackend,
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  eps: number,
  activation: LayerNormActivation = 'none',
): TensorInfo {
  const n = x.shape[x.shape.length - 1] ?? 1;
  const size = x.shape.reduce((a, d) => a * d, 1);
  const rows = n === 0 ? 0 : size / n;
  const out = b.alloc(size, x.dtype);
  // Many short rows: one thread per row (three passes over the row, from cache after the first);
  // otherwise one workgroup per row with tree sums.
  const perThread = n <= 256 && rows >= 4096;
  const gelu = activation === 'gelu';
  const act = (e: string) => (gelu ? `gelu_ln(${e})` : e);
  const head = gelu
    ? `${ERF_WGSL}\nfn gelu_ln(x: f32) -> f32 { return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476)); }\n`
    : '';
  const body = perThread
    ? `${head}${main(WG)}
  let row = wg * ${WG}u + lid;
  if (row >= pu(0u)) { return; }
  let n = pu(1u);
  let base = row * n;
  var s0 = 0.0;
  for (var c = 0u; c < n; c++) { s0 += x_ld(base + c); }
  let mean = s0 / f32(n);
  var s1 = 0.0;
  for (var c = 0u; c < n; c++) { let d = x_ld(base + c) - mean; s1 += d * d; }
  let rstd = 1.0 / sqrt(s1 / f32(n) + pf(2u));
  for (var c = 0u; c < n; c++) { y_st(base + c, ${act('(x_ld(base + c) - mean) * rstd * g_ld(c) + be_ld(c)')}); }
}`
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
    outputs: [{ name: 'y', data: out }],
    params: [u(rows), u(n), f(eps)],
    grid: b.grid(perThread ? Math.ceil(rows / WG) : rows),
  });
  return b.out(out, x.shape, x.dtype);
}
