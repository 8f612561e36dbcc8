/** Grouped top-k̂ over the estimated attention Â (spec §5). */
import * as sea from '@sea/tensor';
import { ShapeError, type Tensor } from '@sea/tensor';
import { checkTopKMode, type TopKMode, topkBudgets } from './budgets.js';

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
