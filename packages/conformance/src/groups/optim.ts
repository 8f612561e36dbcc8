import { adamwStep, type Backend, tensor } from '@sea/tensor';
import { assertClose, assertEqual, values } from '../check.js';
import { normal, rngFor, uniform } from '../data.js';
import type { SuiteContext } from '../suite.js';

interface Case {
  shape: number[];
  moments: boolean;
  gradScale: number;
  weightDecay: number;
  step: number;
}

/** PyTorch's AdamW in float64 over the float32 inputs: the new parameter, m and v. */
function reference(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array | null,
  v: Float64Array | null,
  c: Case,
  lr: number,
  b1: number,
  b2: number,
  eps: number,
) {
  const n = p.length;
  const want = {
    p: new Float64Array(n),
    m: new Float64Array(n),
    v: new Float64Array(n),
    mag: new Float64Array(n),
  };
  const bc1 = 1 - b1 ** c.step;
  const bc2 = 1 - b2 ** c.step;
  for (let i = 0; i < n; i++) {
    const gi = g[i] * c.gradScale;
    const mi = b1 * (m ? m[i] : 0) + (1 - b1) * gi;
    const vi = b2 * (v ? v[i] : 0) + (1 - b2) * gi * gi;
    const dec = p[i] * (1 - lr * c.weightDecay);
    const upd = ((lr / bc1) * mi) / (Math.sqrt(vi) / Math.sqrt(bc2) + eps);
    want.p[i] = dec - upd;
    want.m[i] = mi;
    want.v[i] = vi;
    want.mag[i] = Math.abs(dec) + Math.abs(upd);
  }
  return want;
}

/**
 * The AdamW update (`adamwStep`): a backend's fused `adamw` capability where it has one, the
 * composition of element-wise ops elsewhere; either must match PyTorch's AdamW in float64, and the
 * fused update must equal the composition bit for bit (it rounds each operation as they do).
 */
export function registerAdamW(s: SuiteContext): void {
  s.group('adamw', 'adamw (fused capability or composition)', (test) => {
    if (!s.hasDType('float32')) return;
    const cases: Case[] = [
      { shape: [1000], moments: false, gradScale: 1, weightDecay: 0.01, step: 1 },
      { shape: [37, 29], moments: true, gradScale: 0.37, weightDecay: 0.01, step: 7 },
      { shape: [5, 3, 65], moments: true, gradScale: 1, weightDecay: 0, step: 1000 },
      { shape: [1], moments: true, gradScale: 0.5, weightDecay: 0, step: 2 },
    ];
    const [lr, b1, b2, eps] = [3e-3, 0.9, 0.999, 1e-8];
    for (const c of cases) {
      const title = `[${c.shape}]${c.moments ? '' : ' first step (no moments)'} gradScale ${c.gradScale} wd ${c.weightDecay} t ${c.step}`;
      test(title, async ({ backend, tol }) => {
        const rng = rngFor(title);
        const pv = normal(rng, c.shape, 'float32');
        const gv = normal(rng, c.shape, 'float32', 0.1);
        const mv = c.moments ? normal(rng, c.shape, 'float32', 0.05) : null;
        const vv = c.moments ? uniform(rng, c.shape, 'float32', 1e-6, 2e-2) : null;
        const t = (x: Float64Array) => tensor(x, c.shape, { backend, dtype: 'float32' });
        const o = {
          lr,
          beta1: b1,
          beta2: b2,
          eps,
          weightDecay: c.weightDecay,
          step: c.step,
          gradScale: c.gradScale,
        };
        const run = () => adamwStep(t(pv), t(gv), mv ? t(mv) : null, vv ? t(vv) : null, o);
        const r = run();
        const want = reference(pv, gv, mv, vv, c, lr, b1, b2, eps);
        const f = tol('float32', 'binary', 8);
        assertClose(
          await values(r.param, c.shape, 'float32', title),
          want.p,
          f,
          `${title}: parameter`,
          c.shape,
          want.mag,
        );
        assertClose(await values(r.m, c.shape, 'float32', title), want.m, f, `${title}: m`, c.shape);
        assertClose(await values(r.v, c.shape, 'float32', title), want.v, f, `${title}: v`, c.shape);
        // the composition (the capability hidden on this instance) gives the same bits
        const b = backend as Backend & { adamw?: unknown };
        const had = Object.hasOwn(b, 'adamw');
        const own = b.adamw;
        b.adamw = undefined;
        let plain: ReturnType<typeof run>;
        try {
          plain = run();
        } finally {
          if (had) b.adamw = own;
          else delete b.adamw;
        }
        for (const k of ['param', 'm', 'v'] as const)
          assertEqual(
            await plain[k].data(),
            await r[k].data(),
            `${title}: fused ${k} = composed ${k}`,
            c.shape,
          );
      });
    }
  });
}
