/** Evaluation arithmetic: perplexity windows, cross-entropy from logits, accuracy and F1. */

/**
 * Non-overlapping windows of `window` tokens; the last partial window is dropped (docs/algorithm.md §9c and
 * the GPTQ protocol). Returns the start offsets.
 */
export function perplexityWindows(tokens: number, window: number): number[] {
  if (!Number.isInteger(window) || window < 2)
    throw new Error(`window must be an integer ≥ 2, got ${window}`);
  const n = Math.floor(tokens / window);
  return Array.from({ length: n }, (_, i) => i * window);
}

/**
 * Mean next-token cross-entropy of one window: logits [T, V] (row t predicts token t+1),
 * computed in float64 with a stable log-sum-exp. Throws on non-finite logits.
 */
export function windowCrossEntropy(logits: Float32Array, ids: ArrayLike<number>, vocab: number): number {
  const T = ids.length;
  if (logits.length !== T * vocab)
    throw new Error(`logits hold ${logits.length} values, expected ${T}×${vocab}`);
  let total = 0;
  for (let t = 0; t < T - 1; t++) {
    const row = t * vocab;
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < vocab; v++) if (logits[row + v] > m) m = logits[row + v];
    if (!Number.isFinite(m)) throw new Error(`non-finite logits at position ${t}`);
    let s = 0;
    for (let v = 0; v < vocab; v++) s += Math.exp(logits[row + v] - m);
    total += m + Math.log(s) - logits[row + ids[t + 1]];
  }
  return total / (T - 1);
}

/** exp of the mean of per-window losses (every window has the same length). */
export function perplexity(windowLosses: readonly number[]): number {
  if (windowLosses.length === 0) return Number.NaN;
  return Math.exp(windowLosses.reduce((a, b) => a + b, 0) / windowLosses.length);
}

export function accuracy(pred: readonly number[], gold: readonly number[]): number {
  let ok = 0;
  for (let i = 0; i < gold.length; i++) if (pred[i] === gold[i]) ok++;
  return gold.length ? ok / gold.length : Number.NaN;
}

/** Binary F1 with 1 as the positive class (GLUE MRPC). */
export function f1(pred: readonly number[], gold: readonly number[]): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < gold.length; i++) {
    if (pred[i] === 1 && gold[i] === 1) tp++;
    else if (pred[i] === 1) fp++;
    else if (gold[i] === 1) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}
