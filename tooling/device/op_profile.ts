/**
 * Per-op and per-kernel GPU time of a piece of work on the CUDA backend (the method of
 * packages/backend-cuda/bench/bench_cuda.mjs's profileOps, for the training tools): every backend
 * primitive (and the fused `linear`/`attention`, uploads, reads) is bracketed by a pair of device
 * events, every kernel launch too, keyed by the kernel's name; after the body the GPU time is summed
 * by op name and input shape, and by kernel. Wall time minus the GPU time in ops is what the host and
 * the launch gaps cost. Host side: the ops queued, the reads back (each a wait for the device) and
 * the allocations the body made.
 */
import type { Backend } from '@sea/tensor';
import { PRIMITIVES } from '@sea/tensor/backend';

export interface OpRow {
  op: string;
  ms: number;
  calls: number;
}

export interface OpProfile {
  wallMs: number;
  /** GPU time inside the bracketed ops (the sum of the rows). */
  gpuOpsMs: number;
  ops: number;
  launches: number;
  /** Reads back to the host (each waits for the device) and explicit syncs. */
  reads: number;
  syncs: number;
  rows: OpRow[];
  /** The same time by op name alone (shapes merged). */
  byOp: OpRow[];
  kernels: { kernel: string; ms: number; calls: number }[];
  /** Kernels by name and launch shape (grid × block): a long kernel on a small grid stands out. */
  launchShapes: { kernel: string; ms: number; calls: number }[];
}

// the device plumbing of @sea/backend-cuda's CudaBackend this reads (kept structural: no import)
interface CudaLike {
  drv: {
    api: {
      cuEventCreate(o: unknown[], flags: number): number;
      cuEventRecord(e: unknown, s: unknown): number;
      cuEventElapsedTime(o: number[], a: unknown, b: unknown): number;
      cuEventDestroy?(e: unknown): number;
    };
    check(rc: number, call: string): void;
  };
  stream: unknown;
  fn(family: string, name: string): unknown;
  launch(f: unknown, grid: readonly number[], block: readonly number[], smem?: number): void;
  sync(): Promise<void>;
  [k: string]: unknown;
}

const EXTRA = ['linear', 'attention', 'csrAttention', 'cellMaskAttention', 'adamw', 'upload', 'read'];

/**
 * Runs `body` with every op and kernel launch of `backend` bracketed by device events; returns the
 * GPU time by op (name and first input's shape and dtype) and by kernel. Throws for a backend
 * without CUDA events.
 */
export async function profileOps(backend: Backend, body: () => Promise<void>): Promise<OpProfile> {
  const b = backend as unknown as CudaLike;
  if (!b.drv?.api?.cuEventRecord) throw new Error(`profileOps: backend ${backend.name} has no CUDA events`);
  const api = b.drv.api;
  const pool: unknown[] = [];
  let used = 0;
  const ev = () => {
    if (used === pool.length) {
      const o: unknown[] = [null];
      b.drv.check(api.cuEventCreate(o, 0), 'cuEventCreate');
      pool.push(o[0]);
    }
    return pool[used++];
  };
  const marks: [string, unknown, unknown][] = [];
  const kmarks: [string, unknown, unknown][] = [];
  let reads = 0;
  let syncs = 0;
  const names = [...PRIMITIVES, ...EXTRA].filter((n) => typeof b[n] === 'function');
  const own = new Map<string, unknown>();
  for (const name of names) {
    own.set(name, Object.hasOwn(b, name) ? b[name] : undefined);
    const orig = (b[name] as (...a: unknown[]) => unknown).bind(b);
    b[name] = (...args: unknown[]) => {
      if (name === 'read') reads++;
      const e0 = ev();
      api.cuEventRecord(e0, b.stream);
      const r = orig(...args);
      const first = args.find((a) => a && typeof a === 'object' && 'shape' in (a as object)) as
        | { shape: number[]; dtype?: string }
        | undefined;
      const key = `${name}${first ? ` [${first.shape}]` : ''}${first?.dtype && first.dtype !== 'float32' ? ` ${first.dtype}` : ''}`;
      const done = () => {
        const e1 = ev();
        api.cuEventRecord(e1, b.stream);
        marks.push([key, e0, e1]);
      };
      if (r && typeof (r as Promise<unknown>).then === 'function')
        return (r as Promise<unknown>).then((x) => {
          done();
          return x;
        });
      done();
      return r;
    };
  }
  const fnNames = new Map<unknown, string>();
  const ownFn = Object.hasOwn(b, 'fn') ? b.fn : undefined;
  const ownLaunch = Object.hasOwn(b, 'launch') ? b.launch : undefined;
  const ownSync = Object.hasOwn(b, 'sync') ? b.sync : undefined;
  const origFn = b.fn.bind(b);
  const origLaunch = b.launch.bind(b);
  const origSync = b.sync.bind(b);
  b.fn = (family, name) => {
    const f = origFn(family, name);
    fnNames.set(f, name);
    return f;
  };
  b.launch = (f, grid, block, smem) => {
    const e0 = ev();
    api.cuEventRecord(e0, b.stream);
    origLaunch(f, grid, block, smem);
    const e1 = ev();
    api.cuEventRecord(e1, b.stream);
    kmarks.push([`${fnNames.get(f) ?? '?'} grid ${grid.join('x')} block ${block.join('x')}`, e0, e1]);
  };
  b.sync = () => {
    syncs++;
    return origSync();
  };
  let wallMs = 0;
  try {
    await origSync();
    const t0 = performance.now();
    await body();
    await origSync();
    wallMs = performance.now() - t0;
  } finally {
    for (const name of names) {
      const o = own.get(name);
      if (o) b[name] = o;
      else delete b[name];
    }
    if (ownFn) b.fn = ownFn as CudaLike['fn'];
    else delete (b as Partial<CudaLike>).fn;
    if (ownLaunch) b.launch = ownLaunch as CudaLike['launch'];
    else delete (b as Partial<CudaLike>).launch;
    if (ownSync) b.sync = ownSync as CudaLike['sync'];
    else delete (b as Partial<CudaLike>).sync;
  }
  const f = [0];
  const sum = (list: [string, unknown, unknown][], keyOf: (k: string) => string) => {
    const per = new Map<string, { ms: number; calls: number }>();
    for (const [key, e0, e1] of list) {
      b.drv.check(api.cuEventElapsedTime(f, e0, e1), 'cuEventElapsedTime');
      const k = keyOf(key);
      const x = per.get(k) ?? { ms: 0, calls: 0 };
      x.ms += f[0];
      x.calls++;
      per.set(k, x);
    }
    return [...per.entries()].sort((p, q) => q[1].ms - p[1].ms);
  };
  const rows = sum(marks, (k) => k).map(([op, x]) => ({ op, ...x }));
  const byOp = sum(marks, (k) => k.split(' ')[0]).map(([op, x]) => ({ op, ...x }));
  const kernels = sum(kmarks, (k) => k.split(' ')[0]).map(([kernel, x]) => ({ kernel, ...x }));
  const launchShapes = sum(kmarks, (k) => k).map(([kernel, x]) => ({ kernel, ...x }));
  for (const e of pool) api.cuEventDestroy?.(e);
  return {
    wallMs,
    gpuOpsMs: rows.reduce((s, r) => s + r.ms, 0),
    ops: marks.length,
    launches: kmarks.length,
    reads,
    syncs,
    rows,
    byOp,
    kernels,
    launchShapes,
  };
}

/** The profile as lines of text: the totals, the top `n` ops by shape, by name, and kernels. */
export function formatProfile(label: string, p: OpProfile, n = 25): string[] {
  const lines = [
    `profile ${label}: wall ${p.wallMs.toFixed(1)} ms, GPU in ops ${p.gpuOpsMs.toFixed(1)} ms, ${p.ops} ops, ${p.launches} own kernel launches, ${p.reads} reads back, ${p.syncs} syncs`,
    '  by op name:',
  ];
  for (const r of p.byOp.slice(0, n))
    lines.push(`   ${r.ms.toFixed(3).padStart(10)} ms ${String(r.calls).padStart(5)}×  ${r.op}`);
  lines.push('  by op and first input:');
  for (const r of p.rows.slice(0, n))
    lines.push(`   ${r.ms.toFixed(3).padStart(10)} ms ${String(r.calls).padStart(5)}×  ${r.op}`);
  lines.push('  kernels (own launches; cuBLAS, memsets and copies not listed):');
  for (const r of p.kernels.slice(0, n))
    lines.push(`   ${r.ms.toFixed(3).padStart(10)} ms ${String(r.calls).padStart(5)}×  ${r.kernel}`);
  lines.push('  kernels by launch shape:');
  for (const r of p.launchShapes.slice(0, n))
    lines.push(`   ${r.ms.toFixed(3).padStart(10)} ms ${String(r.calls).padStart(5)}×  ${r.kernel}`);
  return lines;
}
