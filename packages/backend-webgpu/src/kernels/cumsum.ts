/**
 * Inclusive or exclusive prefix sums along one axis, optionally from the end. Short axes: one
 * thread walks each line. Long axes with few lines (a causal running mean over T) would leave the
 * GPU idle on one long serial walk, so they are cut into chunks of about √len: (1) each
 * (line, chunk) thread sums its chunk, (2) one thread per line scans the chunk totals into
 * offsets, (3) each (line, chunk) thread walks its chunk again from its offset. Sums are float32
 * (int32 for int32) whatever the storage dtype.
 */
import type { TensorInfo } from '@sea/tensor';
import { computeType, main, u, wgslType } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { prefixChunk } from './performer_prefix_sum.js';

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
  const chunked = len >= 1024 && lines < 65536;
  const C = chunked ? prefixChunk(len) : len;
  const nC = Math.max(1, Math.ceil(len / C));
  // params: 0 lines, 1 len, 2 inner, 3 C, 4 nC
  const params = [u(lines), u(len), u(inner), u(C), u(nC)];
  const head = `let lines = pu(0u); let len = pu(1u); let inner = pu(2u); let C = pu(3u); let nC = pu(4u);
  let i = wg * ${WG}u + lid;
  if (i >= lines * nC) { return; }
  let c = i / lines; let line = i - c * lines;
  let o = line / inner;
  let base = o * len * inner + (line - o * inner);
  let s0 = c * C; let s1 = min(s0 + C, len);`;
  const pos = reverse ? 'len - 1u - s' : 's';
  let scratch: ReturnType<WebGpuBackend['alloc']> | null = null;
  if (nC > 1) {
    scratch = b.alloc(lines * nC, t === 'i32' ? 'int32' : 'float32');
    b.run({
      name: 'cumsum_chunks',
      body: `${main(WG)}
  ${head}
  var acc = ${t}(0);
  for (var s = s0; s < s1; s++) { acc += x_ld(base + (${pos}) * inner); }
  sc_st(c * lines + line, acc);
}`,
      inputs: [{ name: 'x', data: b.data(x) }],
      outputs: [{ name: 'sc', data: scratch }],
      params,
      grid: b.grid(Math.ceil((lines * nC) / WG)),
    });
    b.run({
      name: 'cumsum_scan',
      body: `${main(WG)}
  let lines = pu(0u); let nC = pu(4u);
  let line = wg * ${WG}u + lid;
  if (line >= lines) { return; }
  var run = ${t}(0);
  for (var c = 0u; c < nC; c++) { let v = sc_ld(c * lines + line); sc_st(c * lines + line, run); run += v; }
}`,
      inputs: [],
      outputs: [{ name: 'sc', data: scratch }],
      params,
      grid: b.grid(Math.ceil(lines / WG)),
    });
  }
  b.run({
    name: 'cumsum',
    body: `${main(WG)}
  ${head}
  var acc = ${scratch ? 'sc_ld(c * lines + line)' : `${t}(0)`};
  for (var s = s0; s < s1; s++) {
    let j = ${pos};
    let v = x_ld(base + j * inner);
    ${exclusive ? 'y_st(base + j * inner, acc); acc += v;' : 'acc += v; y_st(base + j * inner, acc);'}
  }
}`,
    inputs: [{ name: 'x', data: b.data(x) }, ...(scratch ? [{ name: 'sc', data: scratch }] : [])],
    outputs: [{ name: 'y', data: out }],
    params,
    grid: b.grid(Math.ceil((lines * nC) / WG)),
  });
  if (scratch) b.free(scratch);
  return b.out(out, x.shape, x.dtype);
}
