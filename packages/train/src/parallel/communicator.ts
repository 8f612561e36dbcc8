/**
 * Data-parallel training: a communicator (rank, size, all-reduce, broadcast) and the gradient reducer
 * a trainer uses with it. Every rank runs the same trainer on its share of each step's micro-batches
 * (DistillerCore.localMicroBatches); the reducer sums the gradients over ranks in buckets (the
 * parameters in name order, packed into flat float32 buffers of at most `bucketBytes`), so every rank
 * applies the same update. Implementations: InProcessGroup (ranks as tasks of one process over one
 * backend, for CPU tests) and NcclCommunicator (one process per GPU).
 */
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import type { GradientReducer, ReduceSession } from '../distill_core.js';
import { TrainError } from '../errors.js';

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Element-wise sum over ranks of each float32 tensor; returns new tensors (the inputs are disposed). */
  allReduce(buffers: readonly Tensor[]): Promise<Tensor[]>;
  /** Rank `root`'s tensors on every rank; returns new tensors (the inputs are disposed). */
  broadcast(buffers: readonly Tensor[], root?: number): Promise<Tensor[]>;
  /**
   * Starts an element-wise sum over ranks of each float32 tensor and returns without waiting for it
   * (the inputs are the collective's from here on); `wait()` gives the sums. Every rank starts its
   * collectives in the same order. Lets a trainer all-reduce gradient buckets during backward.
   */
  allReduceStart?(buffers: readonly Tensor[]): Promise<PendingReduce>;
  /** Sum over ranks of plain numbers (logged losses), in float64. */
  allReduceNumbers(xs: readonly number[]): Promise<number[]>;
  barrier(): Promise<void>;
  close(): void;
}

/** A started all-reduce ({@link Communicator.allReduceStart}). */
export interface PendingReduce {
  wait(): Promise<Tensor[]>;
}

/** Default bucket size: 25 MiB of float32 gradients (PyTorch DDP's default). */
export const DEFAULT_BUCKET_BYTES = 25 * 2 ** 20;

/** Buckets of parameter names in order, each at most `bytes` of float32 (a larger tensor is alone). */
export function gradientBuckets(
  names: readonly string[],
  sizes: Readonly<Record<string, number>>,
  bytes: number,
): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let used = 0;
  for (const n of names) {
    const b = sizes[n] * 4;
    if (cur.length && used + b > bytes) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(n);
    used += b;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** A trainer's GradientReducer over a communicator: bucketed all-reduce of the summed gradients. */
export class CommunicatorReducer implements GradientReducer {
  constructor(
    readonly comm: Communicator,
    readonly bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {}

  get rank(): number {
    return this.comm.rank;
  }
  get size(): number {
    return this.comm.size;
  }

  async allReduce(grads: Record<string, Tensor>, names: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.comm.size === 1) return grads;
    const sizes = Object.fromEntries(names.map((n) => [n, grads[n].size]));
    const out: Record<string, Tensor> = {};
    for (const bucket of gradientBuckets(names, sizes, this.bucketBytes)) {
      for (const n of bucket) {
        if (grads[n].dtype !== 'float32') {
          throw new TrainError(
            `all-reduce of '${n}': gradients are reduced in float32, got ${grads[n].dtype}`,
          );
        }
      }
      const flat =
        bucket.length === 1
          ? grads[bucket[0]].reshape([grads[bucket[0]].size]).keep()
          : sea
              .tidy(() =>
                sea.concat(
                  bucket.map((n) => grads[n].reshape([grads[n].size])),
                  0,
                ),
              )
              .keep();
      for (const n of bucket) grads[n].dispose();
      const [sum] = await this.comm.allReduce([flat]);
      let off = 0;
      for (const n of bucket) {
        const s = sizes[n];
        out[n] = sea.tidy(() => sea.slice(sum, [off], [s]).reshape(gradShape(n, grads))).keep();
        off += s;
      }
      sum.dispose();
    }
    return out;
  }

  allReduceNumbers(xs: number[]): Promise<number[]> {
    return this.comm.allReduceNumbers(xs);
  }

  /**
   * Buckets in the order the gradients become final (the same on every rank): a bucket's
   * all-reduce starts once it holds `bucketBytes` (or at finish(), for the rest), while backward
   * continues. Runs the collectives for one rank too (the same code path as N ranks).
   */
  begin(): ReduceSession {
    const comm = this.comm;
    const start = comm.allReduceStart?.bind(comm);
    const pending: { names: string[]; shapes: number[][]; started: Promise<PendingReduce> }[] = [];
    let names: string[] = [];
    let tensors: Tensor[] = [];
    let bytes = 0;
    const launch = () => {
      if (!names.length) return;
      const parts = tensors;
      const flat =
        parts.length === 1
          ? parts[0].reshape([parts[0].size]).keep()
          : sea
              .tidy(() =>
                sea.concat(
                  parts.map((t) => t.reshape([t.size])),
                  0,
                ),
              )
              .keep();
      const shapes = parts.map((t) => [...t.shape]);
      for (const t of parts) t.dispose();
      const started: Promise<PendingReduce> = start
        ? start([flat])
        : Promise.resolve({ wait: () => comm.allReduce([flat]) });
      // a rejection is reported by finish()
      started.catch(() => {});
      pending.push({ names, shapes, started });
      names = [];
      tensors = [];
      bytes = 0;
    };
    return {
      ready: async (name, g) => {
        if (g.dtype !== 'float32') {
          g.dispose();
          throw new TrainError(`all-reduce of '${name}': gradients are reduced in float32, got ${g.dtype}`);
        }
        names.push(name);
        tensors.push(g);
        bytes += g.size * 4;
        if (bytes >= this.bucketBytes) {
          launch();
          // let the collective's start run (an in-process rank copies its part out)
          await pending[pending.length - 1].started;
        }
      },
      finish: async () => {
        launch();
        const out: Record<string, Tensor> = {};
        try {
          for (const p of pending) {
            const [sum] = await (await p.started).wait();
            let off = 0;
            p.names.forEach((n, i) => {
              const size = p.shapes[i].reduce((a, d) => a * d, 1);
              out[n] = sea.tidy(() => sea.slice(sum, [off], [size]).reshape(p.shapes[i])).keep();
              off += size;
            });
            sum.dispose();
          }
        } catch (e) {
          for (const t of Object.values(out)) t.dispose();
          throw e;
        }
        pending.length = 0;
        return out;
      },
      abort: () => {
        for (const t of tensors) t.dispose();
        tensors = [];
        names = [];
      },
    };
  }
}

function gradShape(n: string, grads: Record<string, Tensor>): number[] {
  return [...grads[n].shape];
}

/** Makes every rank's parameters rank `root`'s (the start of a run, so all ranks begin identical). */
export async function broadcastParameters(
  comm: Communicator,
  params: Record<string, Tensor>,
  root = 0,
): Promise<Record<string, Tensor>> {
  if (comm.size === 1) return params;
  const names = Object.keys(params).sort();
  const got = await comm.broadcast(
    names.map((n) => params[n]),
    root,
  );
  return Object.fromEntries(names.map((n, i) => [n, got[i]]));
}
