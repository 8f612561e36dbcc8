/**
 * Incremental decoding through the skeleton's cache: the logits of every decoded position equal the
 * whole-sequence forward's logits at that position (dense, Performer, SEA on its sparse path), on
 * random OPT models of odd sizes (pre-LN; post-LN with project_in/out), over 200+ tokens that cross
 * SEA's cell widths; and a left-padded batch decodes each row as that sequence alone. On the CPU
 * backend (1e-5) and on WebGPU where an adapter is found (lavapipe here; 1e-4), else listed as
 * skipped with the reason.
 */
import { CpuBackend } from '@sea/backend-cpu';
import { createWebGpuBackend } from '@sea/backend-webgpu';
import { assertClose, toleranceFor } from '@sea/conformance';
import { type Backend, BackendUnavailableError, Rng, unitRoundoff } from '@sea/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import type { OptForCausalLM } from '../src/index.js';
import { float32Twin, randomOpt, randomOptConfig } from './random_model.js';

const cpu = new CpuBackend();
let webgpu: Backend | null = null;
let webgpuSkip = '';
try {
  webgpu = await createWebGpuBackend();
} catch (e) {
  if (!(e instanceof BackendUnavailableError)) throw e;
  webgpuSkip = e.reason;
}
let backend: Backend = cpu;

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(scale, 1e-30);
}

function randomIds(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => 3 + Math.floor(rng.uniform() * (vocab - 3)));
}

async function fullLogits(model: OptForCausalLM, ids: number[]): Promise<Float32Array> {
  const out = await model.forward([ids]);
  const v = (await out.logits.data()) as Float32Array;
  out.logits.dispose();
  return v;
}

const variants = [
  { name: 'pre-LN', opts: {} },
  { name: 'post-LN, project_in/out', opts: { postLn: true, project: true } },
];

for (const [name, b, T, tol] of [
  ['cpu', cpu, 214, 1e-5],
  ['webgpu', webgpu, 214, 1e-4],
] as const) {
  if (!b) {
    describe.skip(`OPT decoding (${name}) [skipped: ${webgpuSkip}]`, () => {
      it('skipped', () => {});
    });
    continue;
  }
  describe.each(['dense', 'performer', 'sea'] as const)(
    `OPT decoding with %s attention (${name})`,
    (kind) => {
      beforeAll(() => {
        backend = b as Backend;
      });
      for (const variant of variants) {
        it(`${variant.name}: prompt then ${T - 9} tokens, logits equal the full forward at every position`, async () => {
          const config = randomOptConfig(variant.opts);
          const model = await randomOpt(config, kind, backend, 4);
          const V = config.vocabSize;
          const P = 9;
          const ids = randomIds(new Rng(12), T, V);
          const want = await fullLogits(model, ids);
          const before = backend.memory().bytes;
          const cache = model.createCache(64);
          const pre = await model.forward([ids.slice(0, P)], { cache });
          expect(relErr((await pre.logits.data()) as Float32Array, want.subarray(0, P * V))).toBeLessThan(
            tol,
          );
          pre.logits.dispose();
          expect(cache.pastLength).toBe(P);
          let worst = 0;
          for (let t = P; t < T; t++) {
            const out = await model.forward([[ids[t]]], { cache });
            worst = Math.max(
              worst,
              relErr((await out.logits.data()) as Float32Array, want.subarray(t * V, (t + 1) * V)),
            );
            out.logits.dispose();
          }
          expect(worst).toBeLessThan(tol);
          expect(cache.pastLength).toBe(T);
          model.disposeCache(cache);
          expect(backend.memory().bytes).toBe(before);
          model.dispose();
        });
      }

      it('a left-padded batch: each row decodes as its sequence alone', async () => {
        const config = randomOptConfig({ postLn: true, project: true });
        const model = await randomOpt(config, kind, backend, 9);
        const V = config.vocabSize;
        const rng = new Rng(31);
        const lens = [17, 6, 12];
        const steps = 14;
        const seqs = lens.map((L) => randomIds(rng, L + steps, V));
        const wants: Float32Array[] = [];
        for (const s of seqs) wants.push(await fullLogits(model, s)); // one scope at a time
        const Tp = Math.max(...lens);
        const ids = seqs.map((s, b) => [
          ...new Array(Tp - lens[b]).fill(config.padTokenId),
          ...s.slice(0, lens[b]),
        ]);
        const mask = lens.map((L) => [...new Array(Tp - L).fill(0), ...new Array(L).fill(1)]);
        const cache = model.createCache();
        const pre = await model.forward(ids, { attentionMask: mask, cache });
        const pl = (await pre.logits.data()) as Float32Array;
        pre.logits.dispose();
        for (let b = 0; b < lens.length; b++) {
          const L = lens[b];
          expect(
            relErr(pl.subarray((b * Tp + Tp - L) * V, (b + 1) * Tp * V), wants[b].subarray(0, L * V)),
          ).toBeLessThan(tol);
        }
        let worst = 0;
        const fullMask = mask.map((m) => [...m]);
        for (let i = 0; i < steps; i++) {
          for (const m of fullMask) m.push(1);
          const out = await model.forward(
            seqs.map((s, b) => [s[lens[b] + i]]),
            { attentionMask: fullMask, cache },
          );
          const got = (await out.logits.data()) as Float32Array;
          out.logits.dispose();
          for (let b = 0; b < lens.length; b++) {
            const t = lens[b] + i;
            worst = Math.max(
              worst,
              relErr(got.subarray(b * V, (b + 1) * V), wants[b].subarray(t * V, (t + 1) * V)),
            );
          }
        }
        expect(worst).toBeLessThan(tol);
        model.disposeCache(cache);
        model.dispose();
      });
    },
  );
}

// 16-bit models. Dense: every decoded position's logits against the whole-sequence forward of the
// same dtype, within the conformance tolerance table, each row against its own scale. Performer and
// SEA decode through step primitives that round at other places than the whole-sequence ops (once
// per step where the ops round after each), so they are held to accuracy: against the float32 forward
// of the same weights (float32Twin), the decoded positions' error is at most 2 × the 16-bit whole-
// sequence forward's + u on average, and for Performer also in the worst position. (SEA's worst
// positions are cell flips at near ties, O(1) on either path; decode_parity.mjs counts and checks them.)

/** err(t) = max |x − ref| / max |ref| over the vocabulary of each position. */
function positionErrors(got: ArrayLike<number>, ref: ArrayLike<number>, V: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < got.length / V; t++) {
    let scale = 0;
    let err = 0;
    for (let v = 0; v < V; v++) {
      scale = Math.max(scale, Math.abs(ref[t * V + v]));
      err = Math.max(err, Math.abs(got[t * V + v] - ref[t * V + v]));
    }
    out.push(err / Math.max(scale, 1e-30));
  }
  return out;
}

function expectAsAccurate(kind: string, dtype: 'bfloat16' | 'float16', inc: number[], full: number[]): void {
  const u = unitRoundoff(dtype);
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  expect(mean(inc), `${kind} ${dtype}: mean error`).toBeLessThanOrEqual(2 * mean(full) + u);
  if (kind === 'performer')
    expect(Math.max(...inc), `${kind} ${dtype}: worst position`).toBeLessThanOrEqual(
      2 * Math.max(...full) + u,
    );
}
for (const [name, b, T] of [
  ['cpu', cpu, 214],
  ['webgpu', webgpu, 40],
] as const) {
  if (!b) continue;
  for (const dtype of ['bfloat16', 'float16'] as const) {
    describe.each(['dense', 'performer', 'sea'] as const)(
      `OPT decoding with %s attention in ${dtype} (${name})`,
      (kind) => {
        beforeAll(() => {
          backend = b as Backend;
        });
        it(`post-LN, project_in/out: prompt then ${T - 9} tokens, logits equal the ${dtype} full forward at every position`, async () => {
          const config = randomOptConfig({ postLn: true, project: true });
          const model = await randomOpt(config, kind, backend, 4, undefined, dtype);
          const V = config.vocabSize;
          const P = 9;
          const ids = randomIds(new Rng(12), T, V);
          const out = await model.forward([ids]);
          expect(out.logits.dtype).toBe(dtype);
          const want = Float64Array.from(await out.logits.data());
          out.logits.dispose();
          const tol = toleranceFor(dtype, T);
          // performer, SEA: the float32 twin's logits, and each position's error against them
          const fused = kind !== 'dense';
          let ref: Float64Array | null = null;
          const errInc: number[] = [];
          if (fused) {
            const twin = await float32Twin(model, config, kind, backend);
            const r = await twin.forward([ids]);
            ref = Float64Array.from(await r.logits.data());
            r.logits.dispose();
            twin.dispose();
          }
          const check = (got: ArrayLike<number>, t0: number, n: number) => {
            if (ref) {
              errInc.push(...positionErrors(got, ref.subarray(t0 * V, (t0 + n) * V), V));
              return;
            }
            const w = want.subarray(t0 * V, (t0 + n) * V);
            const mag = new Float64Array(w.length);
            for (let r = 0; r < n; r++) {
              let m = 0;
              for (let i = r * V; i < (r + 1) * V; i++) m = Math.max(m, Math.abs(w[i]));
              mag.fill(m, r * V, (r + 1) * V);
            }
            assertClose(got, w, tol, `${kind} ${dtype} logits at ${t0}…${t0 + n - 1}`, [n, V], mag);
          };
          const before = backend.memory().bytes;
          const cache = model.createCache(16);
          const pre = await model.forward([ids.slice(0, P)], { cache });
          check(await pre.logits.data(), 0, P);
          pre.logits.dispose();
          for (let t = P; t < T; t++) {
            const step = await model.forward([[ids[t]]], { cache });
            expect(step.logits.dtype).toBe(dtype);
            check(await step.logits.data(), t, 1);
            step.logits.dispose();
          }
          expect(cache.pastLength).toBe(T);
          model.disposeCache(cache);
          expect(backend.memory().bytes).toBe(before);
          if (ref) expectAsAccurate(kind, dtype, errInc.slice(P), positionErrors(want, ref, V).slice(P));
          model.dispose();
        });

        it('a left-padded batch: each row decodes as its sequence alone', async () => {
          const config = randomOptConfig({ postLn: true, project: true });
          const model = await randomOpt(config, kind, backend, 9, undefined, dtype);
          const V = config.vocabSize;
          const rng = new Rng(31);
          const lens = [17, 6, 12];
          const steps = 14;
          const seqs = lens.map((L) => randomIds(rng, L + steps, V));
          const wants: Float64Array[] = [];
          for (const s of seqs) {
            const out = await model.forward([s]); // one scope at a time
            wants.push(Float64Array.from(await out.logits.data()));
            out.logits.dispose();
          }
          const tol = toleranceFor(dtype, Math.max(...lens) + steps);
          const fused = kind !== 'dense';
          const refs: Float64Array[] = [];
          const errInc: number[] = [];
          const errFull: number[] = [];
          if (fused) {
            const twin = await float32Twin(model, config, kind, backend);
            for (const s of seqs) {
              const out = await twin.forward([s]);
              refs.push(Float64Array.from(await out.logits.data()));
              out.logits.dispose();
            }
            twin.dispose();
          }
          const check = (got: ArrayLike<number>, want: Float64Array, what: string, b = -1, t = -1) => {
            if (fused && b >= 0) {
              const ref = refs[b].subarray(t * V, (t + 1) * V);
              errInc.push(...positionErrors(got, ref, V));
              errFull.push(...positionErrors(want, ref, V));
              return;
            }
            let m = 0;
            for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]));
            assertClose(got, want, tol, what, [want.length], new Float64Array(want.length).fill(m));
          };
          const Tp = Math.max(...lens);
          const ids = seqs.map((s, b) => [
            ...new Array(Tp - lens[b]).fill(config.padTokenId),
            ...s.slice(0, lens[b]),
          ]);
          const mask = lens.map((L) => [...new Array(Tp - L).fill(0), ...new Array(L).fill(1)]);
          const cache = model.createCache();
          const pre = await model.forward(ids, { attentionMask: mask, cache });
          const pl = await pre.logits.data();
          pre.logits.dispose();
          for (let b = 0; b < lens.length; b++) {
            const L = lens[b];
            for (let t = 0; t < L; t++) {
              const at = (b * Tp + Tp - L + t) * V;
              check(
                pl.slice(at, at + V),
                wants[b].subarray(t * V, (t + 1) * V),
                `prompt row ${b} position ${t}`,
              );
            }
          }
          const fullMask = mask.map((m) => [...m]);
          for (let i = 0; i < steps; i++) {
            for (const m of fullMask) m.push(1);
            const out = await model.forward(
              seqs.map((s, b) => [s[lens[b] + i]]),
              { attentionMask: fullMask, cache },
            );
            const got = await out.logits.data();
            out.logits.dispose();
            for (let b = 0; b < lens.length; b++) {
              const t = lens[b] + i;
              check(
                got.slice(b * V, (b + 1) * V),
                wants[b].subarray(t * V, (t + 1) * V),
                `row ${b} position ${t}`,
                b,
                t,
              );
            }
          }
          model.disposeCache(cache);
          if (fused) expectAsAccurate(kind, dtype, errInc, errFull);
          model.dispose();
        });
      },
    );
  }
}

describe('OPT decoding errors', () => {
  beforeAll(() => {
    backend = cpu;
  });
  it('names a second token per row, right padding with a cache, and a prompt past the table', async () => {
    const config = randomOptConfig({ maxPositions: 12 });
    const model = await randomOpt(config, 'sea', backend, 2);
    const cache = model.createCache();
    await expect(model.forward([[5, 6, 7]], { attentionMask: [[1, 1, 0]], cache })).rejects.toThrow(
      /row 0 is right-padded; with a cache, pad on the left/,
    );
    (await model.forward([[5, 6, 7]], { cache })).logits.dispose();
    await expect(model.forward([[5, 6]], { cache })).rejects.toThrow(/one new token per row, got 2/);
    for (let i = 0; i < 9; i++) (await model.forward([[5]], { cache })).logits.dispose();
    await expect(model.forward([[5]], { cache })).rejects.toThrow(
      /12 cached \+ 1 new tokens but max_position_embeddings is 12/,
    );
    model.disposeCache(cache);
    model.dispose();
  });
});

describe.each(['dense', 'performer', 'sea'] as const)('OPT generate with %s attention', (kind) => {
  beforeAll(() => {
    backend = cpu;
  });
  it('greedy tokens equal the argmax chain of whole-sequence forwards (no cache)', async () => {
    const config = randomOptConfig({ postLn: true, project: true });
    const model = await randomOpt(config, kind, backend, 6);
    const prompt = randomIds(new Rng(3), 13, config.vocabSize);
    const streamed: number[] = [];
    const r = await model.generate(prompt, { maxNewTokens: 24, onToken: ([t]) => void streamed.push(t) });
    const seq = [...prompt];
    for (let i = 0; i < 24; i++) {
      const logits = await fullLogits(model, seq);
      const V = config.vocabSize;
      const last = logits.subarray((seq.length - 1) * V);
      let best = 0;
      for (let j = 1; j < V; j++) if (last[j] > last[best]) best = j;
      seq.push(best);
    }
    expect(r.tokens[0]).toEqual(seq.slice(prompt.length));
    expect(streamed).toEqual(r.tokens[0]);
    expect(r.timings.decodeSteps).toBe(23);
    model.dispose();
  });
});
