/**
 * Grouped top-k budgets (docs/algorithm.md §5), counted in compressed cells per group.
 *
 * The official code computes the budgets with torch float32 division and `torch.round`
 * (half to even), then clamps them to ≥ 1. We divide in double precision, which gives the same
 * integers for every length that fits a model (a true x.5 quotient is exact in both).
 */
import { ShapeError } from '@sea/tensor';

/** Grouping of the top-k: per query row, per head, per batch element, or per (batch, row) over heads. */
export type TopKMode = 'query' | 'head' | 'batch' | 'causal_batch';

export const TOPK_MODES: readonly TopKMode[] = ['query', 'head', 'batch', 'causal_batch'];

/** PyTorch `round`: to nearest, ties to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface BudgetSpec {
  mode: TopKMode;
  /** Sparse budget k: keys per query per head on average. */
  k: number;
  /** Compressed width K (cells per row per head). */
  cells: number;
  /** Heads H. */
  heads: number;
  /** Rows T (query length, padded). */
  rows: number;
  /** Causal rows see t+1 keys; only 'causal_batch' is allowed then. */
  causal: boolean;
  /** Valid (non-pad, right-padded) length L_b of each batch element; its length is B. */
  lengths: ArrayLike<number>;
}

/** Number of groups of a mode for B batch elements. */
export function groupCount(mode: TopKMode, batch: number, heads: number, rows: number): number {
  switch (mode) {
    case 'query':
      return batch * heads * rows;
    case 'head':
      return batch * heads;
    case 'batch':
      return batch;
    case 'causal_batch':
      return batch * rows;
  }
}

/** Cells in one group of a mode. */
export function groupSize(mode: TopKMode, heads: number, rows: number, cells: number): number {
  switch (mode) {
    case 'query':
      return cells;
    case 'head':
      return rows * cells;
    case 'batch':
      return heads * rows * cells;
    case 'causal_batch':
      return heads * cells;
  }
}

export function checkTopKMode(mode: string, causal: boolean): asserts mode is TopKMode {
  if (!TOPK_MODES.includes(mode as TopKMode)) {
    throw new ShapeError(`top-k mode must be one of ${TOPK_MODES.join(', ')}, got '${mode}'`);
  }
  if (causal && mode !== 'causal_batch') {
    throw new ShapeError(
      `top-k mode '${mode}' lets selection cross the time axis; causal attention needs 'causal_batch' (docs/algorithm.md §5)`,
    );
  }
}

/**
 * The causal 'causal_batch' budget of one query row that sees L keys: round(H·k·K/L) half-to-even,
 * clamped to [1, H·K]. It depends on the row's own length only, so a decoded row gets the budget
 * the whole-sequence forward gives it.
 */
export function causalRowBudget(k: number, cells: number, heads: number, L: number): number {
  if (!Number.isInteger(L) || L < 1)
    throw new ShapeError(`causalRowBudget: row length must be a positive integer, got ${L}`);
  return Math.min(Math.max(roundHalfEven((heads * k * cells) / L), 1), heads * cells);
}

/**
 * Budgets, one per group in the mode's group order, each round(…) half-to-even then clamped ≥ 1
 * (docs/algorithm.md §5, k_oversample 1):
 * - query, groups (b,h,t): round(k·K/L_b);
 * - head, groups (b,h): k·K;
 * - batch, groups b: H·k·K;
 * - causal_batch, groups (b,t): bidirectional round(H·k·K/L_b) for every row, causal round(H·k·K/(t+1)).
 * Padded rows (t ≥ L_b) get 0 where groups are rows (query, causal_batch); a batch element with no
 * valid token gets 0 everywhere. Budgets above the group size are capped at it.
 */
export function topkBudgets(spec: BudgetSpec): Int32Array {
  const { mode, k, cells: K, heads: H, rows: T, causal, lengths } = spec;
  checkTopKMode(mode, causal);
  for (const [v, name] of [
    [k, 'k'],
    [K, 'K (predictor length)'],
    [H, 'heads'],
    [T, 'rows'],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new ShapeError(`topkBudgets: ${name} must be a positive integer, got ${v}`);
  }
  const B = lengths.length;
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (!Number.isInteger(L) || L < 0 || L > T) {
      throw new ShapeError(`topkBudgets: length ${L} of batch element ${b} must be an integer in [0, ${T}]`);
    }
  }
  const size = groupSize(mode, H, T, K);
  const cap = (x: number) => Math.min(Math.max(roundHalfEven(x), 1), size);
  const out = new Int32Array(groupCount(mode, B, H, T));
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (L === 0) continue;
    switch (mode) {
      case 'query': {
        const v = cap((k * K) / L);
        for (let h = 0; h < H; h++) out.fill(v, (b * H + h) * T, (b * H + h) * T + L);
        break;
      }
      case 'head':
        out.fill(cap(k * K), b * H, (b + 1) * H);
        break;
      case 'batch':
        out[b] = cap(H * k * K);
        break;
      case 'causal_batch':
        if (causal) for (let t = 0; t < L; t++) out[b * T + t] = causalRowBudget(k, K, H, t + 1);
        else out.fill(cap((H * k * K) / L), b * T, b * T + L);
        break;
    }
  }
  return out;
}
