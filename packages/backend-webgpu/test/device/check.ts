/**
 * The backend's test files (and the shared conformance suite for 'webgpu'), bundled with the
 * vitest stand-in into one script for the GPU machine: `node device-check.mjs [options]`. One call of
 * the device tool is short, so the suite runs in parts:
 *
 *   --files variants,mechanics,half,conformance   which test files (default all four)
 *   --groups errors,memory,…                      conformance groups (default all; a primitive's
 *                                                 name, or memory, errors, attention, linear,
 *                                                 csrAttention, cellMaskAttention, writeSlice)
 *   --dtypes float32,float16,bfloat16             conformance dtypes (default all three)
 *   --float16 default|packed|both                 float16 storage runs (default both: the
 *                                                 adapter's own, and one forced onto packed words)
 *   --budget SECONDS                              start no test after this many seconds; the
 *                                                 summary lists what was left, by group
 *
 * The summary gives the counts, the seconds per group (to plan the next parts) and every failure.
 */
import type { DType } from '@sea/tensor';
import { createWebGpuBackend } from '../../src/index.js';
import { type ConformancePart, registerWebGpuConformance } from '../conformance_runs.js';
import { runRegistered } from './vitest_shim.js';

const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`device-check: --${name} needs a value`);
  return v;
}
const list = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : undefined);
const known = new Set(['files', 'groups', 'dtypes', 'float16', 'budget']);
for (const a of argv)
  if (a.startsWith('--') && !known.has(a.slice(2)))
    throw new Error(`device-check: unknown option ${a} (${[...known].map((k) => `--${k}`).join(', ')})`);

const FILES = {
  variants: () => import('../../src/kernel_variants.test.js'),
  mechanics: () => import('../../src/backend.test.js'),
  half: () => import('../../src/half.test.js'),
} as const;
const files = list(opt('files')) ?? [...Object.keys(FILES), 'conformance'];
for (const f of files)
  if (!(f in FILES) && f !== 'conformance')
    throw new Error(
      `device-check: --files names '${f}'; choose from ${Object.keys(FILES).join(', ')}, conformance`,
    );
const float16 = opt('float16') ?? 'both';
if (!['default', 'packed', 'both'].includes(float16))
  throw new Error(`device-check: --float16 must be default, packed or both, got '${float16}'`);
const dtypes = list(opt('dtypes')) as DType[] | undefined;
for (const d of dtypes ?? [])
  if (!['float32', 'float16', 'bfloat16'].includes(d))
    throw new Error(`device-check: --dtypes names '${d}'; choose from float32, float16, bfloat16`);
const part: ConformancePart = {
  groups: list(opt('groups')),
  dtypes,
  float16: float16 as ConformancePart['float16'],
};
const budget = opt('budget');
if (budget !== undefined && !(Number(budget) > 0))
  throw new Error(`device-check: --budget must be a positive number of seconds, got '${budget}'`);
const start = performance.now();
console.log(
  `device-check: files ${files.join(',')}; conformance groups ${part.groups?.join(',') ?? 'all'}, dtypes ${dtypes?.join(',') ?? 'all'}, float16 ${float16}${budget ? `; budget ${budget} s` : ''}`,
);

{
  // the adapter this run tests (a device of its own, released before the tests start)
  const b = await createWebGpuBackend().catch((e: Error) => e);
  if (b instanceof Error) console.log(`device-check: no WebGPU backend: ${b.message}`);
  else {
    const a = b.summary;
    console.log(
      `device-check: adapter ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ')}; features ${a.features.join(',')}; float16 ${b.nativeF16 ? 'native (shader-f16)' : 'packed'}`,
    );
    b.destroy();
  }
}
for (const f of files) {
  if (f === 'conformance') registerWebGpuConformance(part);
  else await FILES[f as keyof typeof FILES]();
}
const s = await runRegistered({ deadline: budget ? start + Number(budget) * 1000 : undefined });
const took = (performance.now() - start) / 1000;
console.log(
  `\ndevice-check: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (other parts' groups and dtypes included), ${s.notRun} not run (budget) in ${took.toFixed(0)} s`,
);
console.log('seconds per group:');
for (const [g, sec] of s.seconds) console.log(`  ${sec.toFixed(1).padStart(7)}  ${g}`);
if (s.notRun) {
  console.log('not run (budget spent):');
  for (const [g, n] of s.unstarted) console.log(`  ${String(n).padStart(5)}  ${g}`);
}
for (const f of s.failures) console.log(`FAILED ${f}`);
process.exit(s.failed ? 1 : s.notRun ? 2 : 0);
