// Data-parallel training in one process (InProcessGroup over the CPU backend) against single-process
// training with gradient accumulation over the same global batch: with one micro-batch per rank the
// all-reduce adds the same float32 gradients in the same order as accumulation, so the parameters are
// bit-identical; with two per rank the ranks sum their pairs first ((g0+g1)+(g2+g3) instead of
// ((g0+g1)+g2)+g3), so they agree within 1e-6. Every rank holds the same parameters; rank 0 writes the
// checkpoint; a run resumes on another number of ranks. NCCL's library search names what it tried.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { describe, expect, it } from 'vitest';
import {
  broadcastParameters,
  CommunicatorReducer,
  Distiller,
  findNccl,
  gradientBuckets,
  InProcessGroup,
  LmTrainer,
} from './index.js';
import { backend } from './test/gradcheck.js';
import { randomOpt, type TinyShape } from './test/tiny.js';

void backend;
const cfg: TinyShape = { vocabSize: 64, hidden: 32, layers: 2, heads: 2, ffn: 64, maxPositions: 64 };
const hfConfig = {
  model_type: 'opt',
  vocab_size: 64,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  ffn_dim: 64,
  max_position_embeddings: 64,
  word_embed_proj_dim: 32,
  do_layer_norm_before: true,
  activation_function: 'relu',
};

function tokens(n: number, seed: number): Int32Array {
  const rng = new sea.Rng(seed);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform() < 0.1 ? rng.int(cfg.vocabSize) : (i * 7) % 23;
  return out;
}

async function host(p: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [n, t] of Object.entries(p)) out[n] = Float32Array.from((await t.data()) as Float32Array);
  return out;
}

function maxDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let d = 0;
  for (const n of Object.keys(a))
    for (let i = 0; i < a[n].length; i++) d = Math.max(d, Math.abs(a[n][i] - b[n][i]));
  return d;
}

const opts = { seqLen: 16, k: 4, predictorLength: 8, nbf: 8, lr: 1e-3, batch: 1, seed: 3 };

describe('data-parallel distillation (in-process ranks, CPU)', () => {
  it('2 ranks × 1 micro-batch equal accumulate 2 bit for bit; 2 ranks × 2 equal accumulate 4 within 1e-6; all ranks agree', async () => {
    const teacher = await randomOpt(cfg, 12);
    const data = tokens(600, 6);
    const single = async (accumulate: number, steps = 3) => {
      const d = await Distiller.create(teacher, data, { ...opts, accumulate });
      for (let s = 0; s < steps; s++) await d.trainStep();
      const p = await host(d.params);
      const g = await d.stepGradients();
      const gh = await host(g.grads);
      for (const t of Object.values(g.grads)) t.dispose();
      d.dispose();
      return { p, g: gh };
    };
    const parallel = async (ranks: number, accumulate: number, steps = 3) => {
      const group = new InProcessGroup(ranks);
      return group.run(async (comm) => {
        const d = await Distiller.create(teacher, data, { ...opts, accumulate });
        d.reducer = new CommunicatorReducer(comm, 4096); // small buckets: several per step
        d.params = await broadcastParameters(comm, d.params);
        const losses: number[] = [];
        for (let s = 0; s < steps; s++) losses.push((await d.trainStep()).loss);
        const p = await host(d.params);
        const g = await d.stepGradients();
        const gh = await host(g.grads);
        for (const t of Object.values(g.grads)) t.dispose();
        d.dispose();
        return { p, g: gh, losses };
      });
    };
    const ref2 = await single(2);
    const dp2 = await parallel(2, 2);
    expect(maxDiff(dp2[0].p, dp2[1].p)).toBe(0);
    for (const n of Object.keys(ref2.p)) expect(dp2[0].p[n], n).toEqual(ref2.p[n]);
    for (const n of Object.keys(ref2.g)) expect(dp2[1].g[n], n).toEqual(ref2.g[n]);
    expect(dp2[0].losses).toEqual(dp2[1].losses);
    const ref4 = await single(4, 0);
    const dp4 = await parallel(2, 4, 0);
    // compared on the first step's gradients (relative to their largest): once they differ by
    // rounding, AdamW moves a weight by about ±lr whatever its gradient's size and SEA's top-k
    // selection flips on such moves, so later steps are not comparable at 1e-6
    let d = 0;
    let m = 0;
    for (const n of Object.keys(ref4.g)) {
      for (let i = 0; i < ref4.g[n].length; i++) {
        d = Math.max(d, Math.abs(dp4[0].g[n][i] - ref4.g[n][i]));
        m = Math.max(m, Math.abs(ref4.g[n][i]));
      }
    }
    console.log(
      `2 ranks × 2 micro-batches vs accumulate 4, first-step gradients: ${(d / m).toExponential(2)} relative`,
    );
    expect(d / m).toBeLessThanOrEqual(1e-6);
    teacher.dispose();
  });

  it('rank 0 writes the checkpoint; the run resumes on 1 rank (and on 2) with the same global batch, bit for bit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-dp-'));
    const data = tokens(800, 9);
    const o = { seqLen: 16, batch: 1, accumulate: 2, lr: 3e-3, seed: 2 };
    const whole = await LmTrainer.create(hfConfig, data, o);
    for (let s = 0; s < 4; s++) await whole.trainStep();
    const ref = await host(whole.params);
    whole.dispose();
    // 2 ranks for 2 steps, rank 0 saves
    await new InProcessGroup(2).run(async (comm) => {
      const t = await LmTrainer.create(hfConfig, data, o);
      t.reducer = new CommunicatorReducer(comm);
      for (let s = 0; s < 2; s++) await t.trainStep();
      if (comm.rank === 0) await t.save(dir);
      await comm.barrier();
      t.dispose();
      return null;
    });
    // one save of step 2 (a second save would leave step-0000002.v2 in its place)
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('step-'))).toEqual(['step-0000002.v1']);
    // resume on 1 rank
    const one = await LmTrainer.resume(dir, data);
    for (let s = 0; s < 2; s++) await one.trainStep();
    const p1 = await host(one.params);
    one.dispose();
    for (const n of Object.keys(ref)) expect(p1[n], n).toEqual(ref[n]);
    // and on 2 ranks
    const two = await new InProcessGroup(2).run(async (comm) => {
      const t = await LmTrainer.resume(dir, data);
      t.reducer = new CommunicatorReducer(comm);
      for (let s = 0; s < 2; s++) await t.trainStep();
      const p = await host(t.params);
      t.dispose();
      return p;
    });
    for (const n of Object.keys(ref)) expect(two[1][n], n).toEqual(ref[n]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('buckets all-reduced during backward (overlap) give the same bits as after it, and as accumulation; float32 and bfloat16 compute', async () => {
    const data = tokens(600, 4);
    for (const computeDtype of ['float32', 'bfloat16'] as const) {
      const o = { seqLen: 16, batch: 1, accumulate: 4, lr: 3e-3, seed: 5, computeDtype };
      const whole = await LmTrainer.create(hfConfig, data, { ...o, accumulate: 2 });
      // accumulate 2 on one process = 2 ranks × 1 micro-batch (bit for bit)
      for (let s = 0; s < 2; s++) await whole.trainStep();
      const ref = await host(whole.params);
      whole.dispose();
      const run = (overlap: boolean, accumulate: number) =>
        new InProcessGroup(2).run(async (comm) => {
          // started collectives, and where the trainer was: inside a micro-batch's backward or not
          const log: string[] = [];
          const start = comm.allReduceStart?.bind(comm);
          if (start)
            comm.allReduceStart = (b) => {
              log.push('start');
              return start(b);
            };
          const t = await LmTrainer.create(hfConfig, data, { ...o, accumulate });
          t.reducer = new CommunicatorReducer(comm, 2048);
          t.overlapReduce = overlap;
          const micro = (t as unknown as { microStep: (...a: unknown[]) => Promise<unknown> }).microStep.bind(
            t,
          );
          (t as unknown as { microStep: unknown }).microStep = async (...a: unknown[]) => {
            const r = await micro(...a);
            log.push('micro-batch done');
            return r;
          };
          for (let s = 0; s < 2; s++) await t.trainStep();
          const p = await host(t.params);
          t.dispose();
          return { p, log };
        });
      const on = await run(true, 2);
      const off = await run(false, 2);
      for (const n of Object.keys(ref)) {
        expect(on[0].p[n], `${computeDtype} ${n}`).toEqual(off[0].p[n]);
        expect(on[1].p[n], `${computeDtype} ${n}`).toEqual(ref[n]);
      }
      // with overlap some buckets start before the step's backward has returned
      const first = on[0].log.indexOf('start');
      expect(first, `${computeDtype}: ${on[0].log.join(', ')}`).toBeLessThan(
        on[0].log.indexOf('micro-batch done'),
      );
      expect(off[0].log.indexOf('start')).toBeGreaterThan(off[0].log.indexOf('micro-batch done'));
      // two micro-batches per rank: the last one's gradients are added to the first's as they finish
      const on4 = await run(true, 4);
      const off4 = await run(false, 4);
      for (const n of Object.keys(ref)) expect(on4[1].p[n], `${computeDtype} ${n}`).toEqual(off4[1].p[n]);
    }
  });

  it('a global batch that does not split over the ranks is refused', async () => {
    const data = tokens(400, 1);
    await expect(
      new InProcessGroup(2).run(async (comm) => {
        const t = await LmTrainer.create(hfConfig, data, { seqLen: 16, accumulate: 3 });
        t.reducer = new CommunicatorReducer(comm);
        try {
          await t.trainStep();
        } finally {
          t.dispose();
        }
      }),
    ).rejects.toThrow(/accumulate 3 .* not a multiple of 2 ranks/);
  });
});

describe('buckets and NCCL loading', () => {
  it('buckets keep name order and a size bound (a large tensor alone)', () => {
    const b = gradientBuckets(['a', 'b', 'c', 'd'], { a: 10, b: 10, c: 100, d: 5 }, 100);
    expect(b).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('findNccl names SEA_NCCL_LIB when it points nowhere', () => {
    const prev = process.env.SEA_NCCL_LIB;
    process.env.SEA_NCCL_LIB = '/nonexistent/libnccl.so.2';
    try {
      expect(() => findNccl()).toThrow(/SEA_NCCL_LIB=\/nonexistent\/libnccl.so.2: no such file/);
    } finally {
      if (prev === undefined) delete process.env.SEA_NCCL_LIB;
      else process.env.SEA_NCCL_LIB = prev;
    }
  });
});
