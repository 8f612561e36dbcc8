/**
 * Stretch a compressed mask to FlatCSR (docs/algorithm.md §6) in two passes with a scan between them:
 * count (entries of each (b, t, h)) → exclusive scan per batch element over (t, h) → read back the
 * per-batch totals (they size `col`; a caller's `capacity` sizes it instead, and nothing is read) → fill (each (b, t, h) writes its keys at its offset: heads
 * ascending, cells ascending, keys descending within a cell).
 */
import type { CsrInfo, TensorInfo } from '@sea/tensor';
import type { StretchOptions } from '@sea/tensor/backend';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';
import { CELL_WGSL } from './csr_common.js';

const WG = 128;
const SCAN_WG = 256;

export async function stretchToCsr(
  b: WebGpuBackend,
  mask: TensorInfo,
  rowLen: TensorInfo,
  opts: StretchOptions,
): Promise<CsrInfo> {
  const [B, Tq, H, Kc] = mask.shape;
  const cells = B * Tq * H;
  const L = Tq * H;
  const params = [u(cells), u(Tq), u(H), u(Kc), u(opts.k), u(opts.keys)];
  const rowHead = `let t = (i / pu(2u)) % pu(1u); let bt = i / pu(2u);
  let Kc = pu(3u); let kcap = pu(4u);
  let Lt = u32(max(rl_ld(bt), 0i));`;
  const cnt = b.alloc(cells, 'int32');
  b.run({
    name: 'stretchToCsr_count',
    body: `${CELL_WGSL}
${main(WG)}
  let i = wg * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  ${rowHead}
  var n = 0u;
  for (var m = 0u; m < Kc; m++) {
    if (mk_ld(i * Kc + m) != 0u) { n += min(cell_start(m + 1u, Lt, Kc) - cell_start(m, Lt, Kc), kcap); }
  }
  cn_st(i, i32(n));
}`,
    inputs: [
      { name: 'mk', data: b.data(mask) },
      { name: 'rl', data: b.data(rowLen) },
    ],
    outputs: [{ name: 'cn', data: cnt }],
    params,
    grid: b.grid(Math.ceil(cells / WG)),
  });
  // Exclusive scan per batch element over its L = Tq·H counts; off has L+1 entries per batch.
  const off = b.alloc(B * (L + 1), 'int32');
  const totals = b.alloc(B, 'int32');
  b.run({
    name: 'stretchToCsr_scan',
    body: `var<workgroup> part: array<u32, ${SCAN_WG}>;
${main(SCAN_WG)}
  let bi = wg;
  if (bi >= pu(0u)) { return; }
  let L = pu(1u);
  let per = (L + ${SCAN_WG - 1}u) / ${SCAN_WG}u;
  let lo = min(lid * per, L); let hi = min(lo + per, L);
  var s = 0u;
  for (var i = lo; i < hi; i++) { s += u32(cn_ld(bi * L + i)); }
  part[lid] = s;
  workgroupBarrier();
  for (var k = 1u; k < ${SCAN_WG}u; k <<= 1u) {
    var add = 0u;
    if (lid >= k) { add = part[lid - k]; }
    workgroupBarrier();
    part[lid] += add;
    workgroupBarrier();
  }
  var run = part[lid] - s;
  for (var i = lo; i < hi; i++) { of_st(bi * (L + 1u) + i, i32(run)); run += u32(cn_ld(bi * L + i)); }
  if (lid == ${SCAN_WG - 1}u) { of_st(bi * (L + 1u) + L, i32(part[lid])); tot_st(bi, i32(part[lid])); }
}`,
    inputs: [{ name: 'cn', data: cnt }],
    outputs: [
      { name: 'of', data: off },
      { name: 'tot', data: totals },
    ],
    params: [u(B), u(L)],
    grid: [B, 1, 1],
  });
  const crow = b.alloc(B * (Tq + 1), 'int32');
  b.run({
    name: 'stretchToCsr_crow',
    body: `${main(WG)}
  let i = wg * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let T1 = pu(1u) + 1u; let bi = i / T1; let t = i - bi * T1;
  let L = pu(1u) * pu(2u);
  cr_st(i, of_ld(bi * (L + 1u) + t * pu(2u)));
}`,
    inputs: [{ name: 'of', data: off }],
    outputs: [{ name: 'cr', data: crow }],
    params: [u(B * (Tq + 1)), u(Tq), u(H)],
    grid: b.grid(Math.ceil((B * (Tq + 1)) / WG)),
  });
  // a caller's capacity sizes col without reading the totals back (decoding: one sync fewer per step)
  const cap = opts.capacity;
  const nnz =
    cap === undefined
      ? Array.from((await b.read(totals, 'int32', B)) as Int32Array)
      : new Array<number>(B).fill(cap);
  b.free(totals);
  const Z = cap ?? Math.max(0, ...nnz);
  const col = b.alloc(B * Z, 'int32');
  b.clear(col);
  if (Z > 0) {
    b.run({
      name: 'stretchToCsr_fill',
      body: `${CELL_WGSL}
${main(WG)}
  let i = wg * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  ${rowHead}
  let h = i % pu(2u); let bi = bt / pu(1u);
  let L = pu(1u) * pu(2u);
  var z = bi * pu(6u) + u32(of_ld(bi * (L + 1u) + (i - bi * L)));
  let zEnd = (bi + 1u) * pu(6u);
  let colBase = h * pu(5u);
  for (var m = 0u; m < Kc; m++) {
    if (mk_ld(i * Kc + m) == 0u) { continue; }
    let a = cell_start(m, Lt, Kc); let e = cell_start(m + 1u, Lt, Kc);
    let w = e - a; let n = min(w, kcap);
    for (var q = 0u; q < n; q++) {
      if (z < zEnd) { co_st(z, i32(colBase + e - 1u - (q * w) / n)); }
      z++;
    }
  }
}`,
      inputs: [
        { name: 'mk', data: b.data(mask) },
        { name: 'rl', data: b.data(rowLen) },
        { name: 'of', data: off },
      ],
      outputs: [{ name: 'co', data: col }],
      params: [...params, u(Z)],
      grid: b.grid(Math.ceil(cells / WG)),
    });
  }
  b.free(cnt);
  b.free(off);
  return {
    crow: b.out(crow, [B, Tq + 1], 'int32'),
    col: b.out(col, [B, Z], 'int32'),
    heads: H,
    keys: opts.keys,
    nnz,
  };
}
