/** Grouped top-k̂ over the estimated attention Â (docs/algorithm.md §5). */
import * as sea from '@sea/tensor';
import { type CsrMatrix, ShapeError, type Tensor } from '@sea/tensor';
import { causalRowBudget, checkTopKMode, type TopKMode, topkBudgets } from './budgets.js';
import { cellStart } from './stretch.js';

export interface GroupedTopKOptions {
  mode: TopKMode;
  /** Sparse budget k (keys per query per head). */
  k: number;
  causal: boolean;
  /** Valid length L_b of each batch element (right padding); default T for all. */
  lengths?: ArrayLike<number>;
  /** Layout of the returned mask: 'bhtk' [B,H,T,K] (default) or 'bthk' [B,T,H,K] (the stretch's input). */
  layout?: 'bhtk' | 'bthk';
}

/**
 * Selects compressed cells of Â [B,H,T,K] (softmax probabilities) by grouped top-k̂ and returns the
 * bool mask. Groups and budgets follow `topkBudgets`. Padded query rows (t ≥ L_b) are ranked
 * last and never selected. Ties go to the lower flat index within the group: for 'causal_batch'
 * the group (b,t) is laid out h·K+m, so the lower head, then the lower cell, wins; for 'head' it is
 * t·K+m, for 'batch' h·T·K+t·K+m. The selection is deterministic.
 */
export function groupedTopK(estimate: Tensor, opts: GroupedTopKOptions): Tensor {
  if (estimate.rank !== 4)
    throw new ShapeError(`groupedTopK: expected estimate of shape [B,H,T,K], got [${estimate.shape}]`);
  const [B, H, T, K] = estimate.shape;
  if (B < 1 || H < 1 || T < 1 || K < 1)
    throw new ShapeError(`groupedTopK: empty estimate [${estimate.shape}]`);
  const { mode, k, causal } = opts;
  checkTopKMode(mode, causal);
  const lengths = opts.lengths ?? new Array<number>(B).fill(T);
  if (lengths.length !== B) throw new ShapeError(`groupedTopK: expected ${B} lengths, got ${lengths.length}`);
  const budgets = topkBudgets({ mode, k, cells: K, heads: H, rows: T, causal, lengths });
  const layout = opts.layout ?? 'bhtk';
  const backend = estimate.backend;
  return sea.tidy(() => {
    // float64 (gradient checks) selects in float32; 16-bit estimates select as they are
    let scores = estimate.dtype === 'float64' ? sea.cast(estimate, 'float32') : estimate;
    let rowValid: Tensor | null = null;
    if (Array.prototype.some.call(lengths, (L: number) => L < T)) {
      const rv = new Uint8Array(B * T);
      for (let b = 0; b < B; b++) rv.fill(1, b * T, b * T + lengths[b]);
      rowValid = sea.tensor(rv, [B, 1, T, 1], { dtype: 'bool', backend });
      scores = sea.where(rowValid, scores, Number.NEGATIVE_INFINITY);
    }
    const btFirst = mode === 'causal_batch';
    const grouped = btFirst
      ? sea.transpose(scores, [0, 2, 1, 3]).reshape([B * T, H * K])
      : scores.reshape([budgets.length, (B * H * T * K) / budgets.length]);
    const sel = sea.groupedTopK(grouped, sea.tensor(budgets, [budgets.length], { dtype: 'int32', backend }));
    let mask = sel.reshape(btFirst ? [B, T, H, K] : [B, H, T, K]);
    const outBT = layout === 'bthk';
    if (outBT !== btFirst) mask = sea.transpose(mask, [0, 2, 1, 3]);
    if (rowValid) mask = sea.logicalAnd(mask, outBT ? rowValid.reshape([B, T, 1, 1]) : rowValid);
    return mask;
  });
}

/**
 * Causal-per-batch top-k̂ of one new query row per sequence (decoding): estimate Â [B,H,1,K], the
 * row's visible-key count L_b (its absolute position + 1) per sequence → bool [B,1,H,K] (the
 * stretch's 'bthk' layout). Same budget, grouping and tie-break as `groupedTopK` gives that row in
 * the whole-sequence forward.
 */
export function causalRowTopK(estimate: Tensor, rowLengths: ArrayLike<number>, k: number): Tensor {
  if (estimate.rank !== 4 || estimate.shape[2] !== 1)
    throw new ShapeError(`causalRowTopK: expected estimate of shape [B,H,1,K], got [${estimate.shape}]`);
  const [B, H, , K] = estimate.shape;
  if (rowLengths.length !== B)
    throw new ShapeError(`causalRowTopK: expected ${B} row lengths, got ${rowLengths.length}`);
  if (!Number.isInteger(k) || k < 1)
    throw new ShapeError(`causalRowTopK: k must be a positive integer, got ${k}`);
  const budgets = Int32Array.from({ length: B }, (_, b) => causalRowBudget(k, K, H, rowLengths[b]));
  const backend = estimate.backend;
  return sea.tidy(() => {
    // float64 selects in float32; 16-bit estimates select as they are (as groupedTopK does)
    const scores = estimate.dtype === 'float64' ? sea.cast(estimate, 'float32') : estimate;
    // [B,H,1,K] → [B,1,H,K] moves only the size-1 row axis: a reshape
    const sel = sea.groupedTopK(
      scores.reshape([B, H * K]),
      sea.tensor(budgets, [B], { dtype: 'int32', backend }),
    );
    return sel.reshape([B, 1, H, K]);
  });
}

/**
 * The most FlatCSR entries one decoded row of L visible keys can have: its causal budget of cells
 * (over H heads of K cells), each contributing min(width, k) keys, the widest cells first. A bound
 * known on the host, so the row's stretch reads nothing back.
 */
export function causalRowCapacity(k: number, K: number, H: number, L: number): number {
  const n = causalRowBudget(k, K, H, L);
  const per = Array.from({ length: K }, (_, m) => Math.min(cellStart(m + 1, L, K) - cellStart(m, L, K), k));
  per.sort((a, b) => b - a);
  let total = 0;
  let left = n;
  for (const c of per) {
    const take = Math.min(H, left);
    total += take * c;
    left -= take;
    if (left === 0) break;
  }
  return total;
}

/**
 * One decoded row per sequence to FlatCSR (docs/algorithm.md §6, sparse path): `cells` is
 * `causalRowTopK`'s output [B,1,H,K] for the same row lengths and k, `keys` the K/V cache's
 * capacity (columns per head). col is sized from the budgets on the host ({@link causalRowCapacity}),
 * so nothing is read back; `nnz` then reports that size and crow[b,1] holds each row's count.
 */
export async function causalRowCsr(
  cells: Tensor,
  rowLengths: ArrayLike<number>,
  opts: { k: number; keys: number },
): Promise<CsrMatrix> {
  if (cells.rank !== 4 || cells.dtype !== 'bool' || cells.shape[1] !== 1)
    throw new ShapeError(
      `causalRowCsr: expected bool cells of shape [B,1,H,K], got [${cells.shape}] ${cells.dtype}`,
    );
  const [B, , H, K] = cells.shape;
  if (rowLengths.length !== B)
    throw new ShapeError(`causalRowCsr: expected ${B} row lengths, got ${rowLengths.length}`);
  let capacity = 0;
  for (let b = 0; b < B; b++) {
    const L = rowLengths[b];
    if (!Number.isInteger(L) || L < 1 || L > opts.keys)
      throw new ShapeError(`causalRowCsr: row length ${L} of sequence ${b} is outside [1, ${opts.keys}]`);
    capacity = Math.max(capacity, causalRowCapacity(opts.k, K, H, L));
  }
  const rowLen = sea.tensor(Int32Array.from(rowLengths), [B, 1], { dtype: 'int32', backend: cells.backend });
  try {
    return await sea.stretchToCsr(cells, rowLen, { k: opts.k, keys: opts.keys, capacity });
  } finally {
    rowLen.dispose();
  }
}
