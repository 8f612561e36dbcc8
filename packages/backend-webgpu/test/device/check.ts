/**
 * The backend's test files (and the shared conformance suite for 'webgpu'), bundled with the
 * vitest stand-in into one script for the GPU machine: `node device-check.mjs`.
 */
import { runRegistered } from './vitest_shim.js';

const files = [
  () => import('../../src/kernel_variants.test.js'),
  () => import('../../src/backend.test.js'),
  () => import('../../src/half.test.js'),
  () => import('../../src/conformance.test.js'),
];
let failed = 0;
let passed = 0;
let skipped = 0;
for (const load of files) {
  await load();
}
const s = await runRegistered();
passed += s.passed;
failed += s.failed;
skipped += s.skipped;
console.log(`device-check: ${passed} passed, ${failed} failed, ${skipped} skipped`);
for (const f of s.failures) console.log(`FAILED ${f}`);
process.exit(failed ? 1 : 0);
