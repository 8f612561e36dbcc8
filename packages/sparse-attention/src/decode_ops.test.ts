// What one decoding step asks of the backend: the kernels it queues per layer and the host reads it
// makes. A step reads nothing back (every size it needs is known on the host from the row's
// position), and its kernel count stays within the ceilings below, on the CPU backend and on
// WebGPU where an adapter is found (lavapipe here; else listed as skipped with the reason).
import { CpuBackend } from '@sea/backend-cpu';
import { createWebGpuBackend } from '@sea/backend-webgpu';
import * as sea from '@sea/tensor';
import { type Backend, BackendUnavailableError, Rng, type Tensor } from '@sea/tensor';
import { PRIMITIVES } from '@sea/tensor/backend';
import { describe, expect, it } from 'vitest';
import { createAttention } from './factory.js';
import type { AttentionModule } from './types.js';

let webgpu: Backend | null = null;
let webgpuSkip = '';
try {
  webgpu = await createWebGpuBackend();
} catch (e) {
  if (!(e instanceof BackendUnavailableError)) throw e;
  webgpuSkip = e.reason;
}

/** Kernels (primitives, fused capabilities, in-place writes, uploads, fills) and host reads. */
const KERNELS = [...PRIMITIVES, 'attention', 'linear', 'csrAttention', 'writeSlice', 'upload', 'zeros'];
const READS = ['read', 'readSync', 'sync'];

interface Counter {
  kernels: number;
  reads: number;
  byName: Map<string, number>;
}

/** Counts calls on the backend instance itself (so calls a backend makes internally count too). */
function countCalls(b: Backend): { counter: Counter; restore: () => void } {
  const counter: Counter = { kernels: 0, reads: 0, byName: new Map() };
  const target = b as unknown as Record<string, unknown>;
  const saved: [string, unknown, boolean][] = [];
  for (const name of [...KERNELS, ...READS]) {
    const fn = target[name];
    if (typeof fn !== 'function') continue;
    saved.push([name, fn, Object.hasOwn(target, name)]);
    const isRead = READS.includes(name);
    target[name] = (...args: unknown[]) => {
      if (isRead) counter.reads++;
      else counter.kernels++;
      counter.byName.set(name, (counter.byName.get(name) ?? 0) + 1);
      return (fn as (...a: unknown[]) => unknown).apply(b, args);
    };
  }
  return {
    counter,
    restore: () => {
      for (const [name, fn, own] of saved) {
        if (own) target[name] = fn;
        else delete target[name];
      }
    },
  };
}

const [H, D] = [4, 8];
const config = {
  causal: true,
  heads: H,
  headDim: D,
  predictorLength: 8,
  k: 2,
  nbFeatureFactor: 1,
  maxPositions: 600,
  path: 'sparse' as const,
};

/** Kernels and reads of the decoding step at row `t` (prefill of t rows first), B = 1. */
async function stepCost(
  backend: Backend,
  kind: 'dense' | 'performer' | 'sea',
  t: number,
  dtype: 'float32' | 'bfloat16' = 'float32',
): Promise<Counter> {
  const layer = createAttention(kind, config, { seed: 2, backend, dtype }) as AttentionModule;
  const rng = new Rng(5);
  const mk = (n: number) =>
    sea.cast(sea.tensor(rng.fillNormal(new Float32Array(H * n * D), 0, 1), [1, H, n, D], { backend }), dtype);
  const [q, k, v] = [mk(t), mk(t), mk(t)];
  const { context, state } = await (layer.prefill as NonNullable<AttentionModule['prefill']>)(q, k, v, {
    capacity: t + 8,
  });
  context.dispose();
  const rows: Tensor[] = [mk(1), mk(1), mk(1)];
  // one step first, so that lazily built constants are in place
  (
    await (layer.step as NonNullable<AttentionModule['step']>)(state, rows[0], rows[1], rows[2])
  ).context.dispose();
  const { counter, restore } = countCalls(backend);
  let out: Tensor;
  try {
    out = (await (layer.step as NonNullable<AttentionModule['step']>)(state, rows[0], rows[1], rows[2]))
      .context;
  } finally {
    restore();
  }
  expect(out.shape).toEqual([1, 1, H * D]);
  out.dispose();
  for (const x of [q, k, v, ...rows]) x.dispose();
  state.dispose();
  layer.dispose();
  return counter;
}

/**
 * Most kernels one step may queue per layer (float32; a 16-bit layer adds casts). Before the decoding
 * step was restructured: dense 11, Performer 21, SEA 76 kernels and 3 host reads (CPU backend); before
 * the fused step primitives (`performerStep`, `causalCnnStep`, `seaEncoderStep`, `seaDecodeAttention`): Performer 13
 * (16-bit 17), SEA 58 (69). SEA now: 6 on the CPU, 7 on WebGPU (which uploads the row lengths).
 */
const CEILING = {
  float32: { dense: 10, performer: 1, sea: 7 },
  bfloat16: { dense: 15, performer: 1, sea: 7 },
};

for (const [name, b] of [
  ['cpu', new CpuBackend()],
  ['webgpu', webgpu],
] as const) {
  if (!b) {
    describe.skip(`decoding step cost (${name}) [skipped: ${webgpuSkip}]`, () => {
      it('skipped', () => {});
    });
    continue;
  }
  describe(`decoding step cost (${name})`, () => {
    for (const kind of ['dense', 'performer', 'sea'] as const) {
      it(`${kind}: no host read, at most ${CEILING.float32[kind]} kernels per layer (float32)`, async () => {
        const lines: string[] = [];
        for (const dtype of ['float32', 'bfloat16'] as const) {
          for (const t of [37, 300]) {
            const c = await stepCost(b as Backend, kind, t, dtype);
            lines.push(
              `${kind} ${dtype} t=${t}: ${c.kernels} kernels, ${c.reads} reads (${[...c.byName].map(([n, x]) => `${n} ${x}`).join(', ')})`,
            );
            expect(c.reads).toBe(0);
            expect(c.kernels).toBeLessThanOrEqual(CEILING[dtype][kind]);
          }
        }
        console.log(`[decode ops] ${name}\n  ${lines.join('\n  ')}`);
      });
    }
  });
}
