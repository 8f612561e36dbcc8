/**
 * NCCL communicator for the CUDA backend: libnccl.so.2 loaded through koffi at run time (as the CUDA
 * backend loads cuBLAS), found in SEA_NCCL_LIB, LD_LIBRARY_PATH, or a Python site-packages
 * `nvidia/nccl/lib` (the pip wheel that ships beside PyTorch); a clear error where it is absent. One
 * process per GPU; the launcher makes the unique id (`ncclUniqueIdHex()`) and hands it to every rank
 * in SEA_NCCL_ID. Collectives run on the CUDA backend's stream on the tensors' device buffers, and
 * (allReduceStart) on a second stream ordered against it with events, overlapping the backward pass.
 * NCCL_NVLS_ENABLE=0 is set before NCCL starts (NVLink multicast off).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Tensor } from '@sea/tensor';
import * as sea from '@sea/tensor';
import { TrainError } from '../errors.js';
import type { Communicator } from './communicator.js';

// biome-ignore lint/suspicious/noExplicitAny: koffi's function objects are untyped
type Fn = (...args: any[]) => any;

interface NcclApi {
  getUniqueId: Fn;
  commInitRank: Fn;
  allReduce: Fn;
  broadcast: Fn;
  commDestroy: Fn;
  errorString: Fn;
  uniqueIdType: unknown;
  koffi: { decode: Fn; alloc: Fn };
}

const NCCL_UINT8 = 1;
const NCCL_FLOAT32 = 7;
const NCCL_SUM = 0;
const ID_BYTES = 128;

/** Folders that may hold libnccl.so.2, most specific first. */
export function ncclSearchDirs(): string[] {
  const dirs: string[] = [];
  for (const d of (process.env.LD_LIBRARY_PATH ?? '').split(':')) if (d) dirs.push(d);
  const roots = [
    '/usr/local/lib',
    '/usr/lib',
    '/opt/conda/lib',
    path.join(os.homedir(), '.local/lib'),
    ...(process.env.VIRTUAL_ENV ? [path.join(process.env.VIRTUAL_ENV, 'lib')] : []),
  ];
  for (const r of roots) {
    let ents: string[] = [];
    try {
      ents = fs.readdirSync(r);
    } catch {}
    for (const e of ents) {
      if (!/^python3/.test(e)) continue;
      for (const sp of ['site-packages', 'dist-packages']) dirs.push(path.join(r, e, sp, 'nvidia/nccl/lib'));
    }
  }
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/local/cuda/lib64');
  return dirs;
}

/** The path of libnccl.so.2, or a TrainError naming where it was looked for. */
export function findNccl(): string {
  const env = process.env.SEA_NCCL_LIB;
  if (env) {
    if (!fs.existsSync(env)) throw new TrainError(`SEA_NCCL_LIB=${env}: no such file`);
    return env;
  }
  const dirs = ncclSearchDirs();
  for (const d of dirs) {
    const f = path.join(d, 'libnccl.so.2');
    if (fs.existsSync(f)) return f;
  }
  throw new TrainError(
    `libnccl.so.2 not found (looked in SEA_NCCL_LIB, LD_LIBRARY_PATH and ${dirs.length} folders such as python site-packages nvidia/nccl/lib); install it (pip install nvidia-nccl-cu12) or set SEA_NCCL_LIB`,
  );
}

let api: NcclApi | null = null;

async function loadNccl(): Promise<NcclApi> {
  if (api) return api;
  process.env.NCCL_NVLS_ENABLE = '0';
  const file = findNccl();
  const koffi = (await import('koffi')).default as unknown as {
    load: (f: string) => { func: (sig: string) => Fn };
    struct: (name: string, def: Record<string, unknown>) => unknown;
    array: (t: string, n: number) => unknown;
    decode: Fn;
    alloc: Fn;
  };
  const lib = koffi.load(file);
  const uniqueIdType = koffi.struct('ncclUniqueId', { internal: koffi.array('uint8_t', ID_BYTES) });
  api = {
    uniqueIdType,
    koffi,
    getUniqueId: lib.func('int ncclGetUniqueId(_Out_ ncclUniqueId *id)'),
    commInitRank: lib.func('int ncclCommInitRank(_Out_ void **comm, int nranks, ncclUniqueId id, int rank)'),
    allReduce: lib.func(
      'int ncclAllReduce(uint64_t sendbuff, uint64_t recvbuff, size_t count, int datatype, int op, void *comm, void *stream)',
    ),
    broadcast: lib.func(
      'int ncclBroadcast(uint64_t sendbuff, uint64_t recvbuff, size_t count, int datatype, int root, void *comm, void *stream)',
    ),
    commDestroy: lib.func('int ncclCommDestroy(void *comm)'),
    errorString: lib.func('const char *ncclGetErrorString(int result)'),
  };
  return api;
}

function check(a: NcclApi, rc: number, what: string): void {
  if (rc !== 0) throw new TrainError(`${what} failed: NCCL error ${rc} (${a.errorString(rc)})`);
}

/** A new NCCL unique id as hex (the launcher makes one and passes it to every rank). */
export async function ncclUniqueIdHex(): Promise<string> {
  const a = await loadNccl();
  const id: { internal: number[] } = { internal: [] };
  check(a, a.getUniqueId(id), 'ncclGetUniqueId');
  return Buffer.from(id.internal).toString('hex');
}

/** What the communicator needs of the CUDA backend: device pointers, its stream and driver calls. */
interface CudaLike extends sea.Backend {
  ptr(t: Tensor): bigint;
  readonly stream: unknown;
  synchronize?(): void;
  readonly drv: {
    api: {
      cuStreamCreate(out: unknown[], flags: number): number;
      cuEventCreate(out: unknown[], flags: number): number;
      cuEventRecord(ev: unknown, stream: unknown): number;
      cuEventDestroy(ev: unknown): number;
      cuStreamWaitEvent?(stream: unknown, ev: unknown, flags: number): number;
    };
  };
}

/** CU_EVENT_DISABLE_TIMING: events that only order streams. */
const EVENT_NO_TIMING = 2;

export class NcclCommunicator implements Communicator {
  private constructor(
    private readonly a: NcclApi,
    private readonly comm: unknown,
    readonly rank: number,
    readonly size: number,
    readonly backend: CudaLike,
  ) {}

  /** Joins the group of `size` ranks identified by `idHex` (SEA_NCCL_ID by default) as `rank`. */
  static async create(
    rank: number,
    size: number,
    backend: sea.Backend,
    idHex = process.env.SEA_NCCL_ID,
  ): Promise<NcclCommunicator> {
    if (!idHex || !/^[0-9a-f]{256}$/.test(idHex)) {
      throw new TrainError('NCCL: no unique id: the launcher passes 128 bytes as hex in SEA_NCCL_ID');
    }
    const b = backend as CudaLike;
    if (backend.name !== 'cuda' || typeof b.ptr !== 'function') {
      throw new TrainError(`NCCL: needs the CUDA backend, got '${backend.name}'`);
    }
    const a = await loadNccl();
    const out = [null];
    check(
      a,
      a.commInitRank(out, size, { internal: Array.from(Buffer.from(idHex, 'hex')) }, rank),
      'ncclCommInitRank',
    );
    return new NcclCommunicator(a, out[0], rank, size, b);
  }

  async allReduce(buffers: readonly Tensor[]): Promise<Tensor[]> {
    const out: Tensor[] = [];
    for (const t of buffers) {
      if (t.dtype !== 'float32') throw new TrainError(`NCCL allReduce: float32 tensors only, got ${t.dtype}`);
      const r = sea.zeros(t.shape, { backend: this.backend }).keep();
      check(
        this.a,
        this.a.allReduce(
          this.backend.ptr(t),
          this.backend.ptr(r),
          t.size,
          NCCL_FLOAT32,
          NCCL_SUM,
          this.comm,
          this.backend.stream,
        ),
        'ncclAllReduce',
      );
      out.push(r);
    }
    // the results are complete (later kernels on the stream would wait anyway) and the inputs free
    // to go; no copy to the host
    await this.backend.sync();
    for (const t of buffers) t.dispose();
    return out;
  }

  #commStream: unknown = null;

  /** A driver call's failure as a TrainError. */
  #cu(rc: number, what: string): void {
    if (rc !== 0) throw new TrainError(`NCCL overlap: ${what} failed: CUDA error ${rc}`);
  }

  #event(): unknown {
    const e: unknown[] = [null];
    this.#cu(this.backend.drv.api.cuEventCreate(e, EVENT_NO_TIMING), 'cuEventCreate');
    return e[0];
  }

  /**
   * The all-reduce on a second stream: it waits (an event) for what the compute stream has queued
   * so far (the bucket's gradients), runs there while the compute stream goes on with backward, and
   * `wait()` makes the compute stream wait for it (no host wait). The inputs stay alive until then.
   * Without cuStreamWaitEvent in the driver binding: the plain allReduce.
   */
  async allReduceStart(buffers: readonly Tensor[]): Promise<{ wait(): Promise<Tensor[]> }> {
    const api = this.backend.drv?.api;
    if (!api?.cuStreamWaitEvent) {
      const out = await this.allReduce(buffers);
      return { wait: async () => out };
    }
    const wait = api.cuStreamWaitEvent.bind(api);
    if (!this.#commStream) {
      const s: unknown[] = [null];
      this.#cu(api.cuStreamCreate(s, 1 /* CU_STREAM_NON_BLOCKING */), 'cuStreamCreate');
      this.#commStream = s[0];
    }
    const out: Tensor[] = [];
    for (const t of buffers) {
      if (t.dtype !== 'float32') throw new TrainError(`NCCL allReduce: float32 tensors only, got ${t.dtype}`);
      out.push(sea.zeros(t.shape, { backend: this.backend }).keep());
    }
    const queued = this.#event();
    this.#cu(api.cuEventRecord(queued, this.backend.stream), 'cuEventRecord');
    this.#cu(wait(this.#commStream, queued, 0), 'cuStreamWaitEvent');
    buffers.forEach((t, i) => {
      check(
        this.a,
        this.a.allReduce(
          this.backend.ptr(t),
          this.backend.ptr(out[i]),
          t.size,
          NCCL_FLOAT32,
          NCCL_SUM,
          this.comm,
          this.#commStream,
        ),
        'ncclAllReduce',
      );
    });
    const reduced = this.#event();
    this.#cu(api.cuEventRecord(reduced, this.#commStream), 'cuEventRecord');
    return {
      wait: async () => {
        this.#cu(wait(this.backend.stream, reduced, 0), 'cuStreamWaitEvent');
        // the compute stream now runs after the collective: the inputs' memory may be reused
        for (const t of buffers) t.dispose();
        api.cuEventDestroy(queued);
        api.cuEventDestroy(reduced);
        return out;
      },
    };
  }

  async broadcast(buffers: readonly Tensor[], root = 0): Promise<Tensor[]> {
    const out: Tensor[] = [];
    for (const t of buffers) {
      const r = sea.zeros(t.shape, { backend: this.backend, dtype: t.dtype }).keep();
      check(
        this.a,
        this.a.broadcast(
          this.backend.ptr(t),
          this.backend.ptr(r),
          // a copy of the bytes: any dtype
          t.size * sea.bytesPerElement(t.dtype),
          NCCL_UINT8,
          root,
          this.comm,
          this.backend.stream,
        ),
        'ncclBroadcast',
      );
      out.push(r);
    }
    await this.backend.sync();
    for (const t of buffers) t.dispose();
    return out;
  }

  async allReduceNumbers(xs: readonly number[]): Promise<number[]> {
    const t = sea.tensor(Float32Array.from(xs), [xs.length], { backend: this.backend }).keep();
    const [s] = await this.allReduce([t]);
    const v = Array.from((await s.data()) as Float32Array);
    s.dispose();
    return v;
  }

  async barrier(): Promise<void> {
    await this.allReduceNumbers([0]);
  }

  close(): void {
    this.a.commDestroy(this.comm);
  }
}
