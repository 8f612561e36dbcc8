/**
 * Grouped top-k (docs/algorithm.md §5): scores [G, N], budgets [G] → bool [G, N] with exactly
 * min(max(budget, 0), N) entries set per group: the largest scores, ties to the lower index.
 * One workgroup per group. A 4-pass radix select over order-preserving u32 keys finds the
 * threshold key and how many of its ties to keep; a final pass in index order scans the tie flags
 * so the lowest-index ties win.
 */
import type { TensorInfo } from '@sea/tensor';
import { main, u } from '../codegen.js';
import type { WebGpuBackend } from '../webgpu_backend.js';

const WG = 256;

export function groupedTopK(b: WebGpuBackend, scores: TensorInfo, budgets: TensorInfo): TensorInfo {
  const [G, N] = scores.shape;
  const out = b.alloc(G * N, 'bool');
  const body = `var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sel: array<u32, 2>;
var<workgroup> scan: array<u32, ${WG}>;
fn key(x: f32) -> u32 {
  // −0 and +0 are equal scores (a tie), so both map to the key of +0.
  var bits = bitcast<u32>(x);
  if ((bits & 0x7fffffffu) == 0u) { bits = 0u; }
  return select(bits ^ 0x80000000u, ~bits, (bits >> 31u) == 1u);
}
${main(WG)}
  let g = wg;
  if (g >= pu(0u)) { return; }
  let N = pu(1u);
  let base = g * N;
  let need = u32(clamp(bu_ld(g), 0i, i32(N)));
  var prefix = 0u;
  var remaining = need;
  if (lid == 0u) { sel[0] = 0u; sel[1] = need; }
  for (var ps = 0u; ps < 4u; ps++) {
    let shift = 24u - ps * 8u;
    let himask = select(0xffffffffu << (shift + 8u), 0u, ps == 0u);
    atomicStore(&hist[lid], 0u);
    workgroupBarrier();
    for (var i = lid; i < N; i += ${WG}u) {
      let k = key(s_ld(base + i));
      if ((k & himask) == (prefix & himask)) { atomicAdd(&hist[(k >> shift) & 255u], 1u); }
    }
    workgroupBarrier();
    // Counts of keys with digit ≥ d, as an inclusive scan over lid of digit 255 − lid: the thread
    // whose range [excl, incl) holds the remaining rank owns the digit.
    let own = atomicLoad(&hist[255u - lid]);
    scan[lid] = own;
    workgroupBarrier();
    for (var s = 1u; s < 256u; s <<= 1u) {
      var add = 0u;
      if (lid >= s) { add = scan[lid - s]; }
      workgroupBarrier();
      scan[lid] += add;
      workgroupBarrier();
    }
    let incl = scan[lid];
    let excl = incl - own;
    if (excl < remaining && incl >= remaining) {
      sel[0] = sel[0] | ((255u - lid) << shift);
      sel[1] = remaining - excl;
    }
    workgroupBarrier();
    prefix = workgroupUniformLoad(&sel[0]);
    remaining = workgroupUniformLoad(&sel[1]);
  }
  // prefix is the need-th largest key; keep every larger key and the first 'remaining' ties.
  var taken = 0u;
  for (var c = 0u; c < N; c += ${WG}u) {
    let i = c + lid;
    var k = 0u;
    var tie = 0u;
    if (i < N) { k = key(s_ld(base + i)); tie = select(0u, 1u, k == prefix); }
    scan[lid] = tie;
    workgroupBarrier();
    for (var s = 1u; s < ${WG}u; s <<= 1u) {
      var add = 0u;
      if (lid >= s) { add = scan[lid - s]; }
      workgroupBarrier();
      scan[lid] += add;
      workgroupBarrier();
    }
    let rank = taken + scan[lid] - tie;
    if (i < N) {
      let on = need > 0u && (k > prefix || (tie == 1u && rank < remaining));
      y_st(base + i, select(0u, 1u, on));
    }
    taken += workgroupUniformLoad(&scan[${WG - 1}]);
  }
}`;
  b.run({
    name: 'groupedTopK',
    body,
    inputs: [
      { name: 's', data: b.data(scores) },
      { name: 'bu', data: b.data(budgets) },
    ],
    outputs: [{ name: 'y', data: out }],
    params: [u(G), u(N)],
    grid: b.grid(G),
  });
  return b.out(out, [G, N], 'bool');
}
