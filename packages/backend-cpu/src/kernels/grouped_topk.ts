import type { TensorInfo } from '@sea/tensor';
import type { CpuBackend } from '../cpu_backend.js';

/**
 * Grouped top-k (docs/algorithm.md §5): scores [G, N] float32, budgets int32 [G] → bool [G, N] with exactly
 * min(max(budget_g, 0), N) entries set per group: the largest scores, ties broken by the lower
 * index (NaN ranks below −∞). The order is total, so the selection is deterministic.
 *
 * Each group is a quickselect (Hoare partition, median-of-three pivot) over an index buffer
 * allocated once per call: O(N) expected per group, no per-group allocation.
 */
export function groupedTopK(b: CpuBackend, scores: TensorInfo, budgets: TensorInfo): TensorInfo {
  const s = b.values(scores);
  const bud = b.values(budgets);
  const [G, N] = scores.shape;
  const out = new Uint8Array(G * N);
  const idx = new Int32Array(N);
  const sc = new Float64Array(N);
  for (let g = 0; g < G; g++) {
    const kb = Math.min(Math.max(bud[g], 0), N);
    const base = g * N;
    if (kb === 0) continue;
    if (kb === N) {
      out.fill(1, base, base + N);
      continue;
    }
    for (let i = 0; i < N; i++) {
      const v = s[base + i];
      sc[i] = Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
      idx[i] = i;
    }
    selectTop(idx, sc, N, kb);
    for (let i = 0; i < kb; i++) out[base + idx[i]] = 1;
  }
  return b.out(out, [G, N], 'bool');
}

/** Reorders idx[0..n) so that idx[0..kth) hold the kth best (score desc, index asc). */
function selectTop(idx: Int32Array, sc: Float64Array, n: number, kth: number): void {
  const p = kth - 1;
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three: order idx[lo], idx[mid], idx[hi] best-first, pivot = idx[mid]
    if (better(idx[mid], idx[lo], sc)) swap(idx, mid, lo);
    if (better(idx[hi], idx[lo], sc)) swap(idx, hi, lo);
    if (better(idx[hi], idx[mid], sc)) swap(idx, hi, mid);
    const pv = idx[mid];
    const ps = sc[pv];
    let i = lo;
    let j = hi;
    while (i <= j) {
      for (;;) {
        const a = idx[i];
        const sa = sc[a];
        if (sa > ps || (sa === ps && a < pv)) i++;
        else break;
      }
      for (;;) {
        const a = idx[j];
        const sa = sc[a];
        if (ps > sa || (sa === ps && pv < a)) j--;
        else break;
      }
      if (i <= j) {
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        i++;
        j--;
      }
    }
    if (p <= j) hi = j;
    else if (p >= i) lo = i;
    else return;
  }
}

function better(a: number, b: number, sc: Float64Array): boolean {
  const sa = sc[a];
  const sb = sc[b];
  return sa > sb || (sa === sb && a < b);
}

function swap(idx: Int32Array, i: number, j: number): void {
  const t = idx[i];
  idx[i] = idx[j];
  idx[j] = t;
}
