/**
 * The causal C_avg and the s_mix blend, heads merged (docs/algorithm.md §7.5–§7.6):
 * out[b, t, h·E + e] = s·local + (1 − s)·(Σ_{j≤t} v[b,h,j,e])/(t + 1), s = sMix[b,h,t].
 * One line per (b, h, e), walked along T in chunks of about √T rows (prefixChunk) so the walk runs in
 * parallel: (1) each (line, chunk) thread sums its chunk's v into float32 scratch; (2) each
 * (line, chunk) thread adds the sums of the chunks before its own and walks its rows, writing the
 * blend. One pass without scratch when T fits one chunk. Sums are float32 whatever the storage dtype.
 */
import type { TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { prefixChunk } from './performer_prefix_sum.js';

const WG = 128;

export function runningMeanMix(
  b: WebGpuBackend,
  local: TensorInfo,
  v: TensorInfo,
  sMix: TensorInfo,
): TensorInfo {
  const [B, H, T, E] = local.shape;
  const lines = B * H * E;
  const out = b.alloc(B * T * H * E, local.dtype);
  if (lines * T === 0) return b.out(out, [B, T, H * E], local.dtype);
  const C = T >= 1024 ? prefixChunk(T) : T;
  const nC = Math.max(1, Math.ceil(T / C));
  // params: 0 lines, 1 T, 2 E, 3 H, 4 C, 5 nC
  const params = [u(lines), u(T), u(E), u(H), u(C), u(nC)];
  // thread i: chunk c = i / lines, line = (b·H + h)·E + e (neighbouring threads: neighbouring e)
  const head = `let lines = pu(0u); let T = pu(1u); let E = pu(2u); let H = pu(3u); let C = pu(4u);
  let nC = pu(5u);
  let i = wg * ${WG}u + lid;
  if (i >= lines * nC) { return; }
  let c = i / lines; let line = i - c * lines;
  let bh = line / E; let e = line - bh * E;
  let t0 = c * C; let t1 = min(t0 + C, T);`;
  let scratch: ReturnType<WebGpuBackend['alloc']> | null = null;
  if (nC > 1) {
    scratch = b.alloc(lines * nC, 'float32');
    b.run({
      name: 'runningMeanMix_chunks',
      body: `${main(WG)}
  ${head}
  var acc = 0.0;
  for (var t = t0; t < t1; t++) { acc += v_ld((bh * T + t) * E + e); }
  sc_st(c * lines + line, acc);
}`,
      inputs: [{ name: 'v', data: b.data(v) }],
      outputs: [{ name: 'sc', data: scratch }],
      params,
      grid: b.grid(Math.ceil((lines * nC) / WG)),
    });
  }
  b.run({
    name: 'runningMeanMix',
    body: `${main(WG)}
  ${head}
  var acc = 0.0;
  ${scratch ? 'for (var p = 0u; p < c; p++) { acc += sc_ld(p * lines + line); }' : ''}
  let bb = bh / H; let h = bh - bb * H;
  for (var t = t0; t < t1; t++) {
    let at = (bh * T + t) * E + e;
    acc += v_ld(at);
    let s = s_ld(bh * T + t);
    y_st(((bb * T + t) * H + h) * E + e, s * lo_ld(at) + (1.0 - s) * (acc / f32(t + 1u)));
  }
}`,
    inputs: [
      { name: 'lo', data: b.data(local) },
      { name: 'v', data: b.data(v) },
      { name: 's', data: b.data(sMix) },
      ...(scratch ? [{ name: 'sc', data: scratch }] : []),
    ],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil((lines * nC) / WG)),
  });
  if (scratch) b.free(scratch);
  return b.out(out, [B, T, H * E], local.dtype);
}
