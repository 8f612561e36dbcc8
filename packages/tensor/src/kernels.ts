/**
 * A backend as a kernel table: its memory (a class holding buffers, the device and settings) plus
 * one kernel per primitive, each taking the backend first. `KernelTable` types a table against the
 * primitive list (a missing kernel is a compile error) and `defineBackend` binds each kernel as a
 * method of every instance.
 */
import type { Backend, Primitive } from './backend.js';

/**
 * The optional fused kernels a backend may add (the op layer composes primitives otherwise).
 * `writeSlice`, a buffer copy, belongs to the memory class with upload, read and free.
 */
export type Capability = 'attention' | 'linear' | 'csrAttention' | 'cellMaskAttention' | 'adamw';

type Method<K extends keyof Backend> = NonNullable<Backend[K]>;
// biome-ignore lint/suspicious/noExplicitAny: a kernel's own parameters are checked by KernelTable
type AnyFn = (...args: any[]) => unknown;

/** The kernel of primitive or capability `K` over backend `B`: the Backend method with `B` first. */
export type Kernel<B, K extends Primitive | Capability> =
  Method<K> extends (...args: infer A) => infer R ? (backend: B, ...args: A) => R : never;

/**
 * One kernel per primitive (required) and per capability (optional), over backend `B`. Check a
 * table with `satisfies KernelTable<MyBackend>`: a missing or mistyped kernel is a compile error
 * at the table.
 */
export type KernelTable<B> = { readonly [P in Primitive]: Kernel<B, P> } & {
  readonly [C in Capability]?: Kernel<B, C>;
};

/** The methods a kernel table gives: each kernel without its backend argument. */
export type BoundKernels<T> = {
  [P in keyof T]: T[P] extends (memory: never, ...args: infer A) => infer R ? (...args: A) => R : never;
};

/**
 * The backend class of `Memory` with `kernels` bound as methods of each instance
 * (`backend.matmul(…)` calls `kernels.matmul(backend, …)`). Use it as a base class; the kernels may
 * take the class being defined (they call each other through it):
 *
 * ```ts
 * const CPU_KERNELS = { matmul, unary, … } satisfies KernelTable<CpuBackend>;
 * export class CpuBackend extends defineBackend(CpuMemory, CPU_KERNELS) implements Backend {}
 * ```
 */
export function defineBackend<A extends unknown[], M extends object, T extends object>(
  Memory: new (...args: A) => M,
  kernels: T & Record<Exclude<keyof T, Primitive | Capability>, never>,
): new (
  ...args: A
) => M & BoundKernels<T> {
  const Base = Memory as unknown as new (...args: A) => Record<string, unknown>;
  const Bound = class extends Base {
    constructor(...args: A) {
      super(...args);
      for (const [name, kernel] of Object.entries(kernels as Record<string, AnyFn>)) {
        this[name] = kernel.bind(null, this);
      }
    }
  };
  return Bound as unknown as new (
    ...args: A
  ) => M & BoundKernels<T>;
}
