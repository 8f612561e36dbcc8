/**
 * The conformance suite: one `describe` per primitive, the same tests for every backend. A backend
 * package calls `conformanceSuite(name, create, opts)` from one test file. A backend that cannot be
 * created here (`BackendUnavailableError`) or is skipped on purpose keeps its tests listed as skipped,
 * with the reason printed when the file is collected; primitives a backend does not implement yet
 * are excluded by name (TensorFlow.js `TEST_FILTERS` style) and show as skipped with their reason.
 */
import {
  type Backend,
  BackendUnavailableError,
  type DType,
  type FloatDType,
  isFloat,
  type MemoryInfo,
  tidy,
} from '@sea/tensor';
import { PRIMITIVES, type Primitive } from '@sea/tensor/backend';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Tolerance } from './check.js';
import { registerAttention } from './groups/attention.js';
import { registerDenseElementwise } from './groups/elementwise.js';
import { registerErrors } from './groups/errors.js';
import { registerLayout } from './groups/layout.js';
import { registerLinear } from './groups/linear.js';
import { registerMatmul } from './groups/matmul.js';
import { registerMemory } from './groups/memory.js';
import { registerNormalization } from './groups/normalization.js';
import { registerAdamW } from './groups/optim.js';
import { registerPublished } from './groups/published.js';
import { registerReduce } from './groups/reduce.js';
import { registerCellMaskAttention, registerCsrAttention, registerSeaCsr } from './groups/sea_csr.js';
import {
  registerSeaDecode,
  registerSeaDecodeAttention,
  registerSeaEncoderStep,
} from './groups/sea_decode.js';
import { registerSeaEstimate } from './groups/sea_estimate.js';
import { registerSpatial } from './groups/spatial.js';
import { toleranceFor } from './tolerance.js';

export interface ConformanceOptions {
  /** Skip the whole suite with this reason (printed). */
  skip?: string;
  /**
   * Primitives this backend does not implement (yet): a list, or a map from primitive to reason.
   * Their tests are registered as skipped.
   */
  exclude?: readonly Primitive[] | Readonly<Partial<Record<Primitive, string>>>;
  /**
   * Single tests to skip: a test is skipped when its full title ("group › test") starts with
   * one of these keys; the value is the reason.
   */
  excludeTests?: Readonly<Record<string, string>>;
  /**
   * Float dtypes to run the tests in; default: every float dtype the backend lists (float32, float64,
   * float16, bfloat16). The SEA routines run in all of them but float64.
   */
  dtypes?: readonly DType[];
  /**
   * Run only these groups (a primitive's name, or memory, errors, attention, linear, csrAttention,
   * cellMaskAttention, writeSlice); the others are listed as skipped. For running the suite in
   * parts where one run must stay short (a GPU machine's call limit). Default: every group.
   */
  groups?: readonly string[];
  /**
   * How the backend's float32 computation differs from the table's (tolerance.ts): replacement
   * float32/float64 compute errors, and a per-primitive multiplier for kernels that sum in float32
   * where the reference row assumes a short sum. 16-bit results get the same compute term (they are
   * computed in float32) plus their store term; nothing here can change the store term.
   */
  tolerance?: {
    float32?: Partial<Tolerance>;
    float64?: Partial<Tolerance>;
    scale?: Readonly<Partial<Record<Primitive, number>>>;
  };
}

/** A primitive's group, or one of the suite's own: memory, errors, and the optional fused ops. */
export type Group =
  | Primitive
  | 'memory'
  | 'errors'
  | 'attention'
  | 'linear'
  | 'adamw'
  | 'csrAttention'
  | 'cellMaskAttention'
  | 'writeSlice';

/** What a group body sees at run time. */
export interface CaseContext {
  readonly backend: Backend;
  /** The tolerance for `dtype` in `primitive`, times `factor` (for long reductions). */
  tol(dtype: DType, primitive: Primitive, factor?: number): Tolerance;
}

export type CaseFn = (c: CaseContext) => Promise<void> | void;

/** What a group sees at collection time. */
export interface SuiteContext {
  /** Float dtypes the dense tests run in. */
  readonly floatDTypes: readonly DType[];
  /** Float dtypes the SEA routines run in (floatDTypes without float64). */
  readonly seaDTypes: readonly DType[];
  /** Whether the backend lists a dtype (int32/bool tests ask this). */
  readonly hasDType: (d: DType) => boolean;
  /**
   * Registers a describe block for `group` whose tests run leak-checked: each test runs in a `tidy`
   * scope, and the backend's bytes and buffers after it must equal those before.
   */
  group(group: Group, title: string, body: (test: (name: string, fn: CaseFn) => void) => void): void;
}

function exclusions(opts: ConformanceOptions): Map<string, string> {
  const out = new Map<string, string>();
  const ex = opts.exclude;
  if (!ex) return out;
  if (Array.isArray(ex)) for (const p of ex as readonly Primitive[]) out.set(p, 'excluded by the backend');
  else for (const [p, r] of Object.entries(ex)) out.set(p, r ?? 'excluded by the backend');
  for (const p of out.keys()) {
    if (!(PRIMITIVES as readonly string[]).includes(p)) {
      throw new Error(
        `conformanceSuite: exclude names '${p}', which is not a primitive (${PRIMITIVES.join(', ')})`,
      );
    }
  }
  return out;
}

function memKey(m: MemoryInfo): { bytes: number; buffers: number } {
  return { bytes: m.bytes, buffers: m.buffers };
}

function assertSameMemory(before: MemoryInfo, after: MemoryInfo, what: string): void {
  if (before.bytes !== after.bytes || before.buffers !== after.buffers) {
    throw new Error(
      `${what}: backend memory did not return to its starting value after disposing: ${JSON.stringify(memKey(before))} → ${JSON.stringify(memKey(after))} (a kernel leaks a buffer, or the engine does not free)`,
    );
  }
}

/**
 * Registers the conformance suite of one backend. Call it at the top level of a test file:
 * `conformanceSuite('cpu', async () => new CpuBackend())`.
 */
export function conformanceSuite(
  name: string,
  create: () => Promise<Backend> | Backend,
  opts: ConformanceOptions = {},
): void {
  const excluded = exclusions(opts);
  describe(`conformance[${name}]`, async () => {
    let backend: Backend | null = null;
    let skipReason = opts.skip ?? null;
    if (skipReason === null) {
      try {
        backend = await create();
      } catch (e) {
        if (!(e instanceof BackendUnavailableError)) throw e;
        skipReason = e.reason;
      }
    }
    if (skipReason !== null) {
      console.warn(`[conformance] backend '${name}': all tests skipped: ${skipReason}`);
    } else if (excluded.size > 0) {
      console.warn(
        `[conformance] backend '${name}': excluded primitives: ${[...excluded].map(([p, r]) => `${p} (${r})`).join('; ')}`,
      );
    }
    const listed = backend ? backend.dtypes : (['float32', 'float64', 'int32', 'bool'] as const);
    const floatDTypes = (opts.dtypes ?? ['float32', 'float64', 'float16', 'bfloat16']).filter((d) =>
      listed.includes(d),
    );
    const seaDTypes = floatDTypes.filter((d) => d !== 'float64');
    const scale = opts.tolerance?.scale ?? {};

    const caseCtx = (b: Backend): CaseContext => ({
      backend: b,
      tol(dtype, primitive, factor = 1) {
        // int32/bool results are exact in every backend; their callers get the float32 row
        if (!isFloat(dtype)) dtype = 'float32';
        const acc = dtype === 'float64' ? 'float64' : 'float32';
        return toleranceFor(dtype as FloatDType, factor * (scale[primitive] ?? 1), opts.tolerance?.[acc]);
      },
    });

    const covered = new Set<Group>();
    const suite: SuiteContext = {
      floatDTypes,
      seaDTypes,
      hasDType: (d) => listed.includes(d),
      group(group, title, body) {
        covered.add(group);
        const reason =
          skipReason ??
          excluded.get(group) ??
          (opts.groups && !opts.groups.includes(group) ? 'not in this run (groups option)' : null);
        const d = reason === null ? describe : describe.skip;
        d(reason === null ? title : `${title} [skipped: ${reason}]`, () => {
          let start: MemoryInfo | null = null;
          beforeAll(async () => {
            if (!backend) return;
            await backend.sync();
            start = backend.memory();
          });
          afterAll(async () => {
            if (!backend || !start) return;
            await backend.sync();
            assertSameMemory(start, backend.memory(), `${title} (whole group)`);
          });
          body((testName, fn) => {
            const full = `${title} › ${testName}`;
            const filter = Object.entries(opts.excludeTests ?? {}).find(([k]) => full.startsWith(k));
            if (filter) {
              it.skip(`${testName} [skipped: ${filter[1]}]`, () => {});
              return;
            }
            it(testName, async () => {
              const b = backend;
              if (!b) throw new Error('unreachable: test of an unavailable backend ran');
              await b.sync();
              const before = b.memory();
              await tidy(async () => {
                await fn(caseCtx(b));
              });
              await b.sync();
              assertSameMemory(before, b.memory(), full);
            });
          });
        });
      },
    };

    registerMemory(suite);
    registerErrors(suite);
    registerMatmul(suite);
    registerDenseElementwise(suite);
    registerReduce(suite);
    registerNormalization(suite);
    registerLayout(suite);
    registerSpatial(suite);
    registerSeaEstimate(suite);
    registerSeaCsr(suite);
    registerSeaDecode(suite);
    registerSeaEncoderStep(suite);
    registerSeaDecodeAttention(suite);
    registerAttention(suite);
    registerLinear(suite);
    registerAdamW(suite);
    registerCsrAttention(suite);
    registerCellMaskAttention(suite);
    registerPublished(suite);

    // the suite made the backend: it destroys it once every group is done, after the device is
    // idle, so no device (and no native thread of it) is still alive when the test process ends
    // biome-ignore lint/suspicious/noDuplicateTestHooks: the other afterAll belongs to each group's describe
    afterAll(async () => {
      if (!backend) return;
      await backend.sync();
      backend.destroy();
      backend = null;
    });

    // the suite itself: a primitive added to the Backend interface needs tests here
    const missing = PRIMITIVES.filter((p) => !covered.has(p));
    it('covers every primitive', () => {
      if (missing.length > 0) throw new Error(`no conformance tests for: ${missing.join(', ')}`);
    });
    const unknown = (opts.groups ?? []).filter((g) => !covered.has(g as Group));
    if (unknown.length > 0) {
      it('runs the groups it was given', () => {
        throw new Error(
          `conformanceSuite: groups option names no group: ${unknown.join(', ')} (groups: ${[...covered].join(', ')})`,
        );
      });
    }
  });
}
