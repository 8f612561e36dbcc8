/**
 * `@sea/conformance`: the conformance suite every sea backend runs: each primitive against a
 * float64 definition, plus memory checks.
 *
 * @module @sea/conformance
 */
export type { Tolerance } from './check.js';
export { assertClose, assertEqual, assertThrows } from './check.js';
export { roundAll, toDType } from './data.js';
export { erf, geluErf, geluTanh, roundHalfEven } from './reference.js';
export type { CaseContext, ConformanceOptions, Group, SuiteContext } from './suite.js';
export { conformanceSuite } from './suite.js';
export type { ToleranceRow } from './tolerance.js';
export { TOLERANCE_TABLE, toleranceFor } from './tolerance.js';
