export type { Tolerance } from './check.js';
export { assertClose, assertEqual, assertThrows } from './check.js';
export { erf, geluErf, geluTanh, roundHalfEven } from './reference.js';
export type { CaseContext, ConformanceOptions, Group, SuiteContext } from './suite.js';
export { conformanceSuite } from './suite.js';
