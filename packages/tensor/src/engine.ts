/**
 * Tensors and their lifetime: reference counting of backend buffers (so reshapes share memory),
 * explicit `dispose()`, and scopes (`tidy`) that dispose what they created.
 */
import { type Backend, type DataId, REF_COUNT, type RefCounted, type TensorInfo } from './backend.js';
import {
  bytesPerElement,
  type DType,
  type DTypeToHostArray,
  halfBitsToFloat32,
  isHalf,
  type TypedArray,
} from './dtype.js';
import { TensorStateError } from './errors.js';
import { fmt, type Shape, sizeOf } from './shape.js';

const refCounts = new WeakMap<DataId, number>();

function retain(dataId: DataId): void {
  const own = dataId as Partial<RefCounted>;
  if (typeof own[REF_COUNT] === 'number') own[REF_COUNT]++;
  else refCounts.set(dataId, (refCounts.get(dataId) ?? 0) + 1);
}

function release(backend: Backend, dataId: DataId): void {
  const own = dataId as Partial<RefCounted>;
  if (typeof own[REF_COUNT] === 'number') {
    const n = --own[REF_COUNT];
    if (n <= 0) {
      own[REF_COUNT] = 0;
      backend.free(dataId);
    }
    return;
  }
  const n = (refCounts.get(dataId) ?? 1) - 1;
  if (n <= 0) {
    refCounts.delete(dataId);
    backend.free(dataId);
  } else {
    refCounts.set(dataId, n);
  }
}

let nextId = 0;

export class Tensor<D extends DType = DType> implements TensorInfo {
  readonly id = nextId++;
  readonly size: number;
  #disposed = false;

  constructor(
    readonly backend: Backend,
    readonly dataId: DataId,
    readonly shape: Shape,
    readonly dtype: D,
  ) {
    this.size = sizeOf(shape);
    retain(dataId);
    trackInScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  get byteLength(): number {
    return this.size * bytesPerElement(this.dtype);
  }

  /** Throws if disposed; every op calls this on its inputs. */
  assertLive(what = 'tensor'): this {
    if (this.#disposed)
      throw new TensorStateError(`${what} ${fmt(this.shape)} ${this.dtype} was used after dispose()`);
    return this;
  }

  /** Downloads the values (a fresh copy); float16/bfloat16 come back as float32 values. */
  async data(): Promise<DTypeToHostArray[D]> {
    this.assertLive();
    return hostValues(
      await this.backend.read(this.dataId, this.dtype, this.size),
      this.dtype,
    ) as DTypeToHostArray[D];
  }

  /** The stored words (16-bit floats as their bit patterns in a Uint16Array; others as data()). */
  async bits(): Promise<TypedArray> {
    this.assertLive();
    return this.backend.read(this.dataId, this.dtype, this.size);
  }

  /** Synchronous download; only on backends with host memory (CPU). */
  dataSync(): DTypeToHostArray[D] {
    this.assertLive();
    if (!this.backend.readSync) {
      throw new TensorStateError(
        `backend '${this.backend.name}' has no synchronous read; use await tensor.data()`,
      );
    }
    return hostValues(
      this.backend.readSync(this.dataId, this.dtype, this.size),
      this.dtype,
    ) as DTypeToHostArray[D];
  }

  /** Nested JS arrays, for printing and tests. */
  async array(): Promise<unknown> {
    return nest(await this.data(), this.shape);
  }

  /** Same buffer, new shape (no copy). */
  reshape(shape: readonly number[]): Tensor<D> {
    this.assertLive();
    const resolved = resolveReshape(this.shape, shape);
    const out = new Tensor(this.backend, this.dataId, resolved, this.dtype);
    if (activeTape)
      activeTape.record({ op: 'reshape', inputs: [this], output: out, attrs: { shape: resolved } });
    return out;
  }

  /** Keeps this tensor alive past the enclosing `tidy` scope. */
  keep(): this {
    untrack(this);
    return this;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    release(this.backend, this.dataId);
  }

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.dtype}, ${this.backend.name}${this.#disposed ? ', disposed' : ''})`;
  }
}

function hostValues(stored: TypedArray, dtype: DType): TypedArray {
  return isHalf(dtype) ? halfBitsToFloat32(stored as Uint16Array, dtype) : stored;
}

export function resolveReshape(from: Shape, to: readonly number[]): number[] {
  const size = sizeOf(from);
  let infer = -1;
  let known = 1;
  to.forEach((d, i) => {
    if (d === -1) {
      if (infer >= 0) throw new TensorStateError(`reshape ${fmt(from)} → ${fmt(to)}: only one -1 allowed`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new TensorStateError(`reshape ${fmt(from)} → ${fmt(to)}: bad dimension ${d}`);
    } else known *= d;
  });
  const out = [...to];
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new TensorStateError(`reshape ${fmt(from)} → ${fmt(to)}: cannot infer -1 for ${size} elements`);
    }
    out[infer] = size / known;
  }
  if (sizeOf(out) !== size) {
    throw new TensorStateError(
      `cannot reshape ${fmt(from)} (${size} elements) to ${fmt(to)} (${sizeOf(out)} elements)`,
    );
  }
  return out;
}

function nest(values: TypedArray, shape: Shape): unknown {
  if (shape.length === 0) return values[0];
  const [n, ...rest] = shape;
  const step = sizeOf(rest);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(nest(values.subarray(i * step, (i + 1) * step), rest));
  return out;
}

// ---- scopes ----

const scopeStack: Set<Tensor>[] = [];

function trackInScope(t: Tensor): void {
  scopeStack[scopeStack.length - 1]?.add(t);
}

function untrack(t: Tensor): void {
  for (const s of scopeStack) s.delete(t);
}

type Kept = Tensor | readonly Kept[] | { readonly [k: string]: Kept } | unknown;

function collect(result: Kept, into: Set<Tensor>): void {
  if (result instanceof Tensor) into.add(result);
  else if (Array.isArray(result)) for (const r of result) collect(r, into);
  else if (
    result &&
    typeof result === 'object' &&
    !(ArrayBuffer.isView(result) || result instanceof Promise)
  ) {
    for (const v of Object.values(result)) collect(v, into);
  }
}

function closeScope(scope: Set<Tensor>, result: unknown): void {
  const keep = new Set<Tensor>();
  collect(result, keep);
  scopeStack.splice(scopeStack.lastIndexOf(scope), 1);
  for (const t of scope) {
    if (keep.has(t)) trackInScope(t);
    else t.dispose();
  }
}

/**
 * Runs `fn`, then disposes every tensor created inside it except those reachable from its result
 * (tensors, arrays and plain objects of tensors). An async `fn` is awaited first; do not run two
 * async scopes concurrently, since scopes form one stack.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<Tensor>();
  scopeStack.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (r) => {
        closeScope(scope, r);
        return r;
      },
      (e) => {
        closeScope(scope, undefined);
        throw e;
      },
    ) as R;
  }
  closeScope(scope, result);
  return result;
}

/**
 * The async form of {@link tidy}: awaits `fn`, then disposes every tensor created while it ran except
 * those reachable from its resolved value (tensors, arrays and plain objects of tensors, `keep()`ed
 * ones); when `fn` rejects, disposes them all and rethrows. Nested scopes work as with `tidy` (an
 * inner result belongs to the outer scope). Scopes form one stack per engine, so run async scopes
 * one after another (await each) rather than concurrently: a tensor that concurrent code creates
 * while this scope is open counts as this scope's.
 */
export async function tidyAsync<R>(fn: () => Promise<R>): Promise<R> {
  const scope = new Set<Tensor>();
  scopeStack.push(scope);
  let result: R;
  try {
    result = await fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  closeScope(scope, result);
  return result;
}

/** Wraps a kernel output as a Tensor. */
export function wrap<D extends DType>(backend: Backend, info: TensorInfo): Tensor<D> {
  return new Tensor(backend, info.dataId, info.shape, info.dtype as D);
}

// ---- tape (for reverse-mode autodiff, which lives in @sea/train) ----

/** One op call as seen by a tape: its name, tensor inputs (null for absent optionals), output, attributes. */
export interface TapeRecord {
  readonly op: string;
  readonly inputs: readonly (Tensor | null)[];
  readonly output: Tensor;
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** Receives every op call while installed; `record` must not call ops itself while installed. */
export interface TapeListener {
  record(r: TapeRecord): void;
}

let activeTape: TapeListener | null = null;

/** Installs `tape` (or removes it with null) and returns the previous one, so callers can nest and restore. */
export function setTape(tape: TapeListener | null): TapeListener | null {
  const prev = activeTape;
  activeTape = tape;
  return prev;
}

/**
 * Whether a tape is recording ops (gradients are being taken). Fused capabilities whose gradient is
 * not registered run only when it is not, so a recorded graph is always made of differentiable ops.
 */
export function isRecording(): boolean {
  return activeTape !== null;
}

/**
 * Disposes intermediates that a computation no longer needs, before its `tidy` scope ends (so a long
 * chain does not hold every intermediate at once), unless a tape is recording: a recorded graph keeps
 * them for the backward pass and its scope disposes them. Null and undefined are skipped.
 */
export function releaseEarly(...ts: (Tensor | null | undefined)[]): void {
  if (activeTape) return;
  for (const t of ts) t?.dispose();
}

/** Called by each op wrapper after it ran; a no-op unless a tape is installed. */
export function recordOp<T extends Tensor>(
  op: string,
  inputs: readonly (Tensor | null | undefined)[],
  output: T,
  attrs: Readonly<Record<string, unknown>> = {},
): T {
  if (activeTape) activeTape.record({ op, inputs: inputs.map((t) => t ?? null), output, attrs });
  return output;
}
