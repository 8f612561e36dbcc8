/**
 * A minimal stand-in for `vitest` so the backend's test files run as one bundled script on a
 * machine that has Node but no node_modules (the GPU machine): describe/it/hooks collected here
 * and run in order, `expect` from @vitest/expect (the real matchers, on chai).
 */
import {
  chai,
  GLOBAL_EXPECT,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Fn = () => unknown;
interface Suite {
  name: string;
  skip: boolean;
  tests: { name: string; fn: Fn; skip: boolean }[];
  before: Fn[];
  after: Fn[];
  children: Suite[];
  parent: Suite | null;
}
const root: Suite = { name: '', skip: false, tests: [], before: [], after: [], children: [], parent: null };
let current = root;

export const expect = ((value: unknown, message?: string) => {
  setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect);
  return chai.expect(value, message);
}) as unknown as typeof import('vitest').expect;
Object.assign(expect, chai.expect);
(globalThis as Record<symbol, unknown>)[GLOBAL_EXPECT] = expect;
void getState;

function makeDescribe(skip: boolean) {
  return (name: string, fn: Fn) => {
    const s: Suite = {
      name,
      skip: skip || current.skip,
      tests: [],
      before: [],
      after: [],
      children: [],
      parent: current,
    };
    current.children.push(s);
    if (fn.constructor.name === 'AsyncFunction') {
      // An async body (the conformance suite creates its backend first) registers its children
      // after an await: run such bodies one after another, each with itself as the current suite.
      pending = pending.then(async () => {
        const prev = current;
        current = s;
        try {
          await fn();
        } finally {
          current = prev;
        }
      });
      return;
    }
    const prev = current;
    current = s;
    try {
      fn();
    } finally {
      current = prev;
    }
  };
}
let pending: Promise<void> = Promise.resolve();
type Describe = ReturnType<typeof makeDescribe> & {
  skip: ReturnType<typeof makeDescribe>;
  each: <T>(cases: readonly T[]) => (name: string, fn: (...c: never[]) => void) => void;
  skipIf: (c: boolean) => ReturnType<typeof makeDescribe>;
};
export const describe = Object.assign(makeDescribe(false), {
  skip: makeDescribe(true),
  skipIf: (c: boolean) => makeDescribe(c),
  each:
    <T>(cases: readonly T[]) =>
    (name: string, fn: (...c: unknown[]) => void) => {
      for (const c of cases) makeDescribe(false)(title(name, c), () => fn(...args(c)));
    },
}) as Describe;

// As vitest: an array case is spread into the arguments and fills the %s slots in order.
function args(c: unknown): unknown[] {
  return Array.isArray(c) ? c : [c];
}
function title(name: string, c: unknown): string {
  let i = 0;
  const a = args(c);
  return name.replace(/%s/g, () => String(a[i++]));
}
export const suite = describe;

function makeIt(skip: boolean) {
  return (name: string, fn?: Fn) => {
    current.tests.push({ name, fn: fn ?? (() => {}), skip: skip || !fn });
  };
}
export const it = Object.assign(makeIt(false), {
  skip: makeIt(true),
  skipIf: (c: boolean) => makeIt(c),
  runIf: (c: boolean) => makeIt(!c),
  each:
    <T>(cases: readonly T[]) =>
    (name: string, fn: (...c: unknown[]) => unknown) => {
      for (const c of cases) makeIt(false)(title(name, c), () => fn(...args(c)));
    },
  todo: (name: string) => makeIt(true)(name),
});
export const test = it;
export const beforeAll = (fn: Fn) => current.before.push(fn);
export const afterAll = (fn: Fn) => current.after.push(fn);
export const beforeEach = (_fn: Fn) => {};
export const afterEach = (_fn: Fn) => {};

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** Tests not started because the time budget was spent. */
  notRun: number;
  failures: string[];
  /** Seconds spent per describe block that holds tests (its hooks included), in run order. */
  seconds: Map<string, number>;
  /** Describe blocks with tests left unstarted at the budget, and how many each. */
  unstarted: Map<string, number>;
}

/**
 * Runs everything registered so far; prints one line per test (skipped ones only counted unless
 * `verboseSkips`). `deadline` (a performance.now() time): tests are not started after it; they are
 * counted as not run and listed by block, so a run cut short still says what it left.
 */
export async function runRegistered(
  opts: { deadline?: number; verboseSkips?: boolean } = {},
): Promise<RunSummary> {
  await pending;
  const sum: RunSummary = {
    passed: 0,
    failed: 0,
    skipped: 0,
    notRun: 0,
    failures: [],
    seconds: new Map(),
    unstarted: new Map(),
  };
  const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
  const live = (s: Suite): boolean =>
    !s.skip && (s.tests.some((t) => !t.skip) || s.children.some((c) => live(c)));
  async function run(s: Suite, path: string): Promise<void> {
    const here = s.name ? (path ? `${path} › ${s.name}` : s.name) : path;
    const t0 = performance.now();
    // a block whose tests are all skipped (another part's groups) runs no hooks
    const hooks = live(s) && performance.now() < deadline;
    if (hooks) for (const f of s.before) await f();
    for (const t of s.tests) {
      const title = `${here} › ${t.name}`;
      if (t.skip || s.skip) {
        sum.skipped++;
        if (opts.verboseSkips) console.log(`  skip ${title}`);
        continue;
      }
      if (performance.now() >= deadline) {
        sum.notRun++;
        sum.unstarted.set(here, (sum.unstarted.get(here) ?? 0) + 1);
        continue;
      }
      const t0 = performance.now();
      try {
        await t.fn();
        sum.passed++;
        console.log(`  ✓ ${title} (${(performance.now() - t0).toFixed(0)} ms)`);
      } catch (e) {
        sum.failed++;
        const msg = `${title}: ${(e as Error).message?.split('\n').slice(0, 6).join(' | ')}`;
        sum.failures.push(msg);
        console.log(`  ✗ ${msg}`);
      }
    }
    for (const c of s.children) await run(c, here);
    if (hooks) for (const f of s.after) await f();
    if (s.tests.length > 0 && live(s)) sum.seconds.set(here, (performance.now() - t0) / 1000);
  }
  await run(root, '');
  return sum;
}
