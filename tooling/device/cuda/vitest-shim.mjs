// A stand-in for the four vitest functions the conformance suite uses (describe, it, beforeAll,
// afterAll, with .skip), so the shared suite runs on the GPU machine with plain Node and no vitest.
// Collection runs describe bodies in order (awaiting async ones); `runCollected()` then runs the
// tree: hooks, tests in registration order, skipped nodes reported as SKIP.
const root = { name: '', kind: 'suite', fn: null, skip: false, children: [], before: [], after: [] };
let current = root;

function suite(name, fn, skip) {
  current.children.push({ name, kind: 'suite', fn, skip, children: [], before: [], after: [] });
}
export function describe(name, fn) {
  suite(name, fn, false);
}
describe.skip = (name, fn) => suite(name, fn, true);
export function it(name, fn) {
  current.children.push({ name, kind: 'test', fn, skip: false });
}
it.skip = (name, fn) => current.children.push({ name, kind: 'test', fn, skip: true });
export const test = it;
export function beforeAll(fn) {
  current.before.push(fn);
}
export function afterAll(fn) {
  current.after.push(fn);
}

async function collect(node) {
  for (let i = 0; i < node.children.length; i++) {
    const c = node.children[i];
    if (c.kind !== 'suite') continue;
    const prev = current;
    current = c;
    try {
      if (c.fn) await c.fn();
    } finally {
      current = prev;
    }
    await collect(c);
  }
}

export async function runCollected(onResult) {
  await collect(root);
  const results = [];
  const report = (r) => {
    results.push(r);
    onResult?.(r);
  };
  async function run(node, trail, skipped) {
    const title = node.name ? [...trail, node.name] : trail;
    const skip = skipped || node.skip;
    if (!skip) {
      for (const h of node.before) {
        try {
          await h();
        } catch (e) {
          report({ name: [...title, 'beforeAll'].join(' › '), status: 'fail', error: String(e?.stack ?? e) });
          return;
        }
      }
    }
    for (const c of node.children) {
      if (c.kind === 'suite') {
        await run(c, title, skip);
        continue;
      }
      const name = [...title, c.name].join(' › ');
      if (skip || c.skip) {
        report({ name, status: 'skip' });
        continue;
      }
      const t0 = performance.now();
      try {
        await c.fn();
        report({ name, status: 'pass', ms: performance.now() - t0 });
      } catch (e) {
        report({ name, status: 'fail', ms: performance.now() - t0, error: String(e?.stack ?? e) });
      }
    }
    if (!skip) {
      for (const h of node.after) {
        try {
          await h();
        } catch (e) {
          report({ name: [...title, 'afterAll'].join(' › '), status: 'fail', error: String(e?.stack ?? e) });
        }
      }
    }
  }
  await run(root, [], false);
  return results;
}
