/**
 * `@sea/mask`: Grouped top-k (per-query, per-head, per-batch, causal-per-batch) and mask
 * stretching to FlatCSR.
 *
 * @module @sea/mask
 */
export {
  type BudgetSpec,
  causalRowBudget,
  checkTopKMode,
  groupCount,
  groupSize,
  roundHalfEven,
  TOPK_MODES,
  type TopKMode,
  topkBudgets,
} from './budgets.js';
export { rowLengthArray, rowLengths, validLengths } from './lengths.js';
export {
  cellOfKey,
  cellStart,
  csrToDense,
  FP_MIN,
  type StretchCsrOptions,
  type StretchDenseOptions,
  type StretchEstimateOptions,
  stretchEstimate,
  stretchIndex,
  stretchToCsr,
  stretchToDense,
} from './stretch.js';
export {
  causalRowCapacity,
  causalRowCsr,
  causalRowTopK,
  type GroupedTopKOptions,
  groupedTopK,
} from './topk.js';
