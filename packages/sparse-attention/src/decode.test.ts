// Decoding (prefill, then one row per step) against the whole-sequence forward of the same layer, row
// by row, for dense, Performer and SEA (sparse path), over 200+ steps that cross the SEA cell widths
// (L/K passes k, so the per-cell cap of the sparse path acts), odd sizes, and a left-padded batch
// whose rows must equal each sequence decoded alone. On the CPU backend (1e-5) and on WebGPU where an
// adapter is found (lavapipe here; 1e-4), else listed as skipped with the reason.
import { CpuBackend } from '@sea/backend-cpu';
import { createWebGpuBackend } from '@sea/backend-webgpu';
import { assertClose, toleranceFor } from '@sea/conformance';
import * as sea from '@sea/tensor';
import { type Backend, BackendUnavailableError, Rng, type Tensor } from '@sea/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAttention } from './factory.js';
import type { AttentionModule } from './types.js';

const cpu = new CpuBackend();
let webgpu: Backend | null = null;
let webgpuSkip = '';
try {
  webgpu = await createWebGpuBackend();
} catch (e) {
  if (!(e instanceof BackendUnavailableError)) throw e;
  webgpuSkip = e.reason;
  console.warn(`[decode] webgpu: skipped: ${e.reason}`);
}
let backend: Backend = cpu;
const [H, D] = [3, 5];
const config = {
  causal: true,
  heads: H,
  headDim: D,
  predictorLength: 8,
  k: 2,
  nbFeatureFactor: 1,
  maxPositions: 300,
  path: 'sparse' as const,
};

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / Math.max(scale, 1e-30);
}

function randomQkv(rng: Rng, B: number, T: number): [Tensor, Tensor, Tensor] {
  const mk = (std: number) =>
    sea.tensor(rng.fillNormal(new Float32Array(B * H * T * D), 0, std), [B, H, T, D], { backend });
  return [mk(0.6), mk(1), mk(1)];
}

const rows = (x: Tensor, b: number, a: number, n: number) => sea.slice(x, [b, 0, a, 0], [1, H, n, D]);

/** The full forward's context of one sequence [1,T,H·D] as a flat array. */
async function fullContext(layer: AttentionModule, q: Tensor, k: Tensor, v: Tensor): Promise<Float32Array> {
  const { context } = await layer.forward(q, k, v);
  const out = (await context.data()) as Float32Array;
  context.dispose();
  return out;
}

for (const [name, b, T, tol] of [
  ['cpu', cpu, 229, 1e-5],
  ['webgpu', webgpu, 229, 1e-4],
] as const) {
  if (!b) {
    describe.skip(`decoding (${name}) [skipped: ${webgpuSkip}]`, () => {
      it('skipped', () => {});
    });
    continue;
  }
  describe.each(['dense', 'performer', 'sea'] as const)(`%s decoding (${name})`, (kind) => {
    beforeAll(() => {
      backend = b as Backend;
    });
    it(`prefill + ${T - 9} single-row steps equal the whole-sequence forward at every row`, async () => {
      const layer = createAttention(kind, config, { seed: 3, backend });
      const P = 9;
      const [q, k, v] = randomQkv(new Rng(17), 1, T);
      const want = await fullContext(layer, q, k, v);
      const before = backend.memory().bytes;
      const prompt = [rows(q, 0, 0, P), rows(k, 0, 0, P), rows(v, 0, 0, P)] as const;
      const { context, state } = await (layer.prefill as NonNullable<AttentionModule['prefill']>)(...prompt, {
        capacity: 64,
      });
      for (const x of prompt) x.dispose();
      expect(relErr((await context.data()) as Float32Array, want.subarray(0, P * H * D))).toBeLessThan(tol);
      context.dispose();
      let worst = 0;
      for (let t = P; t < T; t++) {
        const [q1, k1, v1] = [rows(q, 0, t, 1), rows(k, 0, t, 1), rows(v, 0, t, 1)];
        const out = await (layer.step as NonNullable<AttentionModule['step']>)(state, q1, k1, v1);
        const got = (await out.context.data()) as Float32Array;
        worst = Math.max(worst, relErr(got, want.subarray(t * H * D, (t + 1) * H * D)));
        out.context.dispose();
        q1.dispose();
        k1.dispose();
        v1.dispose();
      }
      expect(worst).toBeLessThan(tol);
      expect(Array.from(state.lengths)).toEqual([T]);
      if (kind !== 'dense') {
        // the state that grows with T is the K/V cache only (SEA); the Performer holds none
        expect(state.bytes()).toBeGreaterThan(0);
      }
      state.dispose();
      expect(backend.memory().bytes).toBe(before);
      layer.dispose();
    });

    it('a left-padded batch decodes each sequence as if it were alone', async () => {
      const layer = createAttention(kind, config, { seed: 5, backend });
      const lens = [11, 4, 8];
      const steps = 30;
      const rng = new Rng(23);
      const seqs = lens.map((L) => randomQkv(rng, 1, L + steps));
      const wants: Float32Array[] = [];
      for (const [q, k, v] of seqs) wants.push(await fullContext(layer, q, k, v)); // one scope at a time
      const Tp = Math.max(...lens);
      // the padded prompt: sequence b's tokens at the end of its row, garbage in front
      const pad = (i: 0 | 1 | 2) =>
        sea.concat(
          seqs.map((s, b) =>
            sea.concat(
              [sea.mul(sea.ones([1, H, Tp - lens[b], D], { backend }), 7), rows(s[i], 0, 0, lens[b])],
              2,
            ),
          ),
          0,
        );
      const { context, state } = await (layer.prefill as NonNullable<AttentionModule['prefill']>)(
        pad(0),
        pad(1),
        pad(2),
        {
          lengths: lens,
        },
      );
      const ctx = (await context.data()) as Float32Array;
      for (let b = 0; b < lens.length; b++) {
        const L = lens[b];
        const mine = ctx.subarray((b * Tp + Tp - L) * H * D, (b + 1) * Tp * H * D);
        expect(relErr(mine, wants[b].subarray(0, L * H * D))).toBeLessThan(tol);
        expect(
          Array.from(ctx.subarray(b * Tp * H * D, (b * Tp + Tp - L) * H * D)).every((x) => x === 0),
        ).toBe(true);
      }
      let worst = 0;
      for (let i = 0; i < steps; i++) {
        const pick = (j: 0 | 1 | 2) =>
          sea.concat(
            seqs.map((s, b) => rows(s[j], 0, lens[b] + i, 1)),
            0,
          );
        const out = await (layer.step as NonNullable<AttentionModule['step']>)(
          state,
          pick(0),
          pick(1),
          pick(2),
        );
        const got = (await out.context.data()) as Float32Array;
        for (let b = 0; b < lens.length; b++) {
          const t = lens[b] + i;
          worst = Math.max(
            worst,
            relErr(got.subarray(b * H * D, (b + 1) * H * D), wants[b].subarray(t * H * D, (t + 1) * H * D)),
          );
        }
      }
      expect(worst).toBeLessThan(tol);
      state.dispose();
      layer.dispose();
    });
  });
}

// 16-bit layers: dense and Performer decoded rows against the whole-sequence forward of the same
// dtype, within the conformance tolerance table (one 16-bit rounding of the result, plus float32 sums
// over up to T rows), each row against its own scale. SEA's estimator step rounds at other places than
// the whole-sequence ops (its fused step primitives round once), and a near tie in Â can then select
// another cell, so its rows are held to accuracy instead: against the float32 forward of the same
// weights, the decoded rows' mean error is at most 2 × the 16-bit whole-sequence forward's + u. (A row
// whose cells differ from the float32 ones errs by O(1) on either path, so the worst rows compare
// flips, not accuracy; decode_parity.mjs counts the flips and checks that each is a near tie.)
for (const [name, b, T] of [
  ['cpu', cpu, 229],
  ['webgpu', webgpu, 61],
] as const) {
  if (!b) continue;
  for (const dtype of ['bfloat16', 'float16'] as const) {
    describe.each(['dense', 'performer', 'sea'] as const)(`%s decoding in ${dtype} (${name})`, (kind) => {
      beforeAll(() => {
        backend = b as Backend;
      });
      it(`prefill + ${T - 9} single-row steps equal the ${dtype} whole-sequence forward at every row`, async () => {
        const layer = createAttention(kind, config, { seed: 3, backend, dtype });
        const P = 9;
        const [q, k, v] = randomQkv(new Rng(29), 1, T).map((x) => sea.cast(x, dtype));
        const { context: fullT } = await layer.forward(q, k, v);
        expect(fullT.dtype).toBe(dtype);
        const want = Float64Array.from(await fullT.data());
        fullT.dispose();
        const tol = toleranceFor(dtype, T);
        // SEA: the float32 forward of the same weights, and each row's error against it
        let ref: Float64Array | null = null;
        const errInc: number[] = [];
        const errFull: number[] = [];
        if (kind === 'sea') {
          const w32 = Object.fromEntries(
            Object.entries(layer.weights).map(([n, t]) => [n, sea.cast(t, 'float32')]),
          );
          const layer32 = createAttention(kind, config, { backend, weights: w32 });
          const f32 = (x: Tensor) => sea.cast(x, 'float32');
          const { context: c32 } = await layer32.forward(f32(q), f32(k), f32(v));
          ref = Float64Array.from(await c32.data());
          c32.dispose();
          layer32.dispose();
          for (let t = P; t < T; t++)
            errFull.push(
              relErr(want.subarray(t * H * D, (t + 1) * H * D), ref.subarray(t * H * D, (t + 1) * H * D)),
            );
        }
        const check = (got: ArrayLike<number>, t0: number, n: number) => {
          if (ref && t0 >= P) {
            errInc.push(relErr(got, ref.subarray(t0 * H * D, (t0 + n) * H * D)));
            return;
          }
          const w = want.subarray(t0 * H * D, (t0 + n) * H * D);
          const mag = new Float64Array(w.length);
          for (let r = 0; r < n; r++) {
            let m = 0;
            for (let i = r * H * D; i < (r + 1) * H * D; i++) m = Math.max(m, Math.abs(w[i]));
            mag.fill(m, r * H * D, (r + 1) * H * D);
          }
          assertClose(got, w, tol, `${kind} ${dtype} rows ${t0}…${t0 + n - 1}`, [n, H * D], mag);
        };
        const before = backend.memory().bytes;
        const prompt = [rows(q, 0, 0, P), rows(k, 0, 0, P), rows(v, 0, 0, P)] as const;
        const { context, state } = await (layer.prefill as NonNullable<AttentionModule['prefill']>)(
          ...prompt,
          {
            capacity: 16,
          },
        );
        for (const x of prompt) x.dispose();
        expect(context.dtype).toBe(dtype);
        check(await context.data(), 0, P);
        context.dispose();
        for (let t = P; t < T; t++) {
          const [q1, k1, v1] = [rows(q, 0, t, 1), rows(k, 0, t, 1), rows(v, 0, t, 1)];
          const out = await (layer.step as NonNullable<AttentionModule['step']>)(state, q1, k1, v1);
          expect(out.context.dtype).toBe(dtype);
          check(await out.context.data(), t, 1);
          out.context.dispose();
          q1.dispose();
          k1.dispose();
          v1.dispose();
        }
        state.dispose();
        expect(backend.memory().bytes).toBe(before);
        if (ref) {
          const u = sea.unitRoundoff(dtype);
          const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
          expect(mean(errInc), 'mean over rows').toBeLessThanOrEqual(2 * mean(errFull) + u);
        }
        for (const x of [q, k, v]) x.dispose();
        layer.dispose();
      });
    });
  }
}

describe('decoding errors', () => {
  beforeAll(() => {
    backend = cpu;
  });
  it('names a wrong row shape, a wrong state and a bidirectional layer', async () => {
    const sea1 = createAttention('sea', config, { seed: 1, backend });
    const dense = createAttention('dense', config, { backend });
    const [q, k, v] = randomQkv(new Rng(1), 1, 5);
    const { state } = await (sea1.prefill as NonNullable<AttentionModule['prefill']>)(q, k, v);
    await expect((sea1.step as NonNullable<AttentionModule['step']>)(state, q, k, v)).rejects.toThrow(
      /expected q1 of shape \[1,3,1,5\] \(one new row per sequence\), got \[1,3,5,5\]/,
    );
    await expect(
      (dense.step as NonNullable<AttentionModule['step']>)(
        state,
        rows(q, 0, 0, 1),
        rows(k, 0, 0, 1),
        rows(v, 0, 0, 1),
      ),
    ).rejects.toThrow(/expected the state of a dense layer, got 'sea'/);
    const bidir = createAttention('sea', { ...config, causal: false, maxPositions: undefined }, { backend });
    await expect((bidir.prefill as NonNullable<AttentionModule['prefill']>)(q, k, v)).rejects.toThrow(
      /decoding needs a causal layer/,
    );
    await expect(
      (sea1.prefill as NonNullable<AttentionModule['prefill']>)(q, k, v, { lengths: [0] }),
    ).rejects.toThrow(/length 0 of row 0 must be an integer in \[1, 5\]/);
    state.dispose();
  });
});
