/**
 * Ranks of a data-parallel run as tasks of one process over one backend (the CPU tests' stand-in for
 * one process per GPU). The tape of @sea/train is process-global, so two ranks must never compute at
 * once: a turn lock lets one rank run at a time, and every collective hands the turn on while it
 * waits for the other ranks. Sums run on the host in rank order (rank 0 + rank 1, then + rank 2, …),
 * each addition rounded to float32 as a float32 add is.
 */
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { TrainError } from '../errors.js';
import type { Communicator, PendingReduce } from './communicator.js';

class TurnLock {
  #held = false;
  #queue: (() => void)[] = [];
  async acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((r) => this.#queue.push(r));
  }
  release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#held = false;
  }
}

interface Pending {
  contributions: unknown[];
  arrived: number;
  waiters: ((v: unknown) => void)[];
}

export class InProcessGroup {
  readonly lock = new TurnLock();
  #rounds = new Map<number, Pending>();
  #seq: number[];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new TrainError(`ranks must be a positive integer, got ${size}`);
    this.#seq = new Array(size).fill(0);
  }

  /** Rank r's view. */
  communicator(rank: number): Communicator {
    return new InProcessCommunicator(this, rank);
  }

  /**
   * A collective: every rank passes its contribution; the last to arrive computes `combine` over them
   * (in rank order) and every rank gets the result. The caller's turn is handed on while waiting.
   */
  async collective<C, R>(rank: number, mine: C, combine: (all: C[]) => R[]): Promise<R> {
    const result = this.contribute(rank, mine, combine);
    this.lock.release();
    const v = await result;
    await this.lock.acquire();
    return v;
  }

  /**
   * The first half of a collective: registers this rank's contribution (the last to arrive combines)
   * without giving up the turn; the returned promise settles once every rank has contributed. The
   * caller must give the turn up (await `awaitTurn`) before it waits on it.
   */
  contribute<C, R>(rank: number, mine: C, combine: (all: C[]) => R[]): Promise<R> {
    const id = this.#seq[rank]++;
    let p = this.#rounds.get(id);
    if (!p) {
      p = { contributions: new Array(this.size), arrived: 0, waiters: new Array(this.size) };
      this.#rounds.set(id, p);
    }
    p.contributions[rank] = mine;
    p.arrived += 1;
    const result = new Promise<unknown>((r) => {
      (p as Pending).waiters[rank] = r;
    });
    if (p.arrived === this.size) {
      this.#rounds.delete(id);
      const out = combine(p.contributions as C[]);
      p.waiters.forEach((w, r) => {
        w(out[r]);
      });
    }
    return result as Promise<R>;
  }

  /** Hands the turn on while `p` settles, then takes it back. */
  async awaitTurn<R>(p: Promise<R>): Promise<R> {
    this.lock.release();
    try {
      return await p;
    } finally {
      await this.lock.acquire();
    }
  }

  /** Runs `fn(comm)` for every rank, one rank computing at a time; resolves with every rank's result. */
  run<T>(fn: (comm: Communicator) => Promise<T>): Promise<T[]> {
    return Promise.all(
      Array.from({ length: this.size }, async (_, r) => {
        await this.lock.acquire();
        try {
          return await fn(this.communicator(r));
        } finally {
          this.lock.release();
        }
      }),
    );
  }
}

class InProcessCommunicator implements Communicator {
  constructor(
    readonly group: InProcessGroup,
    readonly rank: number,
  ) {}

  get size(): number {
    return this.group.size;
  }

  async allReduce(buffers: readonly Tensor[]): Promise<Tensor[]> {
    return (await this.allReduceStart(buffers)).wait();
  }

  /** Copies this rank's part out and registers it; the sums come in `wait()` (rank order, float32). */
  async allReduceStart(buffers: readonly Tensor[]): Promise<PendingReduce> {
    const host: Float32Array[] = [];
    for (const b of buffers) {
      if (b.dtype !== 'float32') throw new TrainError(`allReduce: float32 tensors only, got ${b.dtype}`);
      host.push(Float32Array.from((await b.data()) as Float32Array));
    }
    const shapes = buffers.map((b) => [...b.shape]);
    const backend = buffers[0]?.backend;
    for (const b of buffers) b.dispose();
    const sums = this.group.contribute(this.rank, host, (all: Float32Array[][]) => {
      const out = all[0].map((x, i) => {
        const s = Float32Array.from(x);
        for (let r = 1; r < all.length; r++) {
          const y = all[r][i];
          if (y.length !== s.length) {
            throw new TrainError(
              `allReduce: rank ${r} sent ${y.length} values for buffer ${i}, rank 0 ${s.length}`,
            );
          }
          for (let j = 0; j < s.length; j++) s[j] += y[j];
        }
        return s;
      });
      return all.map(() => out);
    });
    return {
      wait: async () => {
        const got = await this.group.awaitTurn(sums);
        return got.map((s, i) => sea.tensor(s, shapes[i], backend ? { backend } : {}).keep());
      },
    };
  }

  async broadcast(buffers: readonly Tensor[], root = 0): Promise<Tensor[]> {
    const host = await Promise.all(
      buffers.map(async (b) => Float32Array.from((await b.data()) as Float32Array)),
    );
    const shapes = buffers.map((b) => [...b.shape]);
    const backend = buffers[0]?.backend;
    for (const b of buffers) b.dispose();
    const got = await this.group.collective(this.rank, host, (all) => all.map(() => all[root]));
    return got.map((s, i) => sea.tensor(Float32Array.from(s), shapes[i], backend ? { backend } : {}).keep());
  }

  allReduceNumbers(xs: readonly number[]): Promise<number[]> {
    return this.group.collective(this.rank, [...xs], (all) => {
      const s = all[0].map((_, i) => all.reduce((a, x) => a + x[i], 0));
      return all.map(() => s);
    });
  }

  async barrier(): Promise<void> {
    await this.group.collective(this.rank, null, (all) => all.map(() => null));
  }

  close(): void {}
}
