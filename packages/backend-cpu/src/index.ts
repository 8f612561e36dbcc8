/**
 * `@sea/backend-cpu`: the CPU backend of sea: plain TypeScript kernels over typed arrays; the
 * reference oracle and the default backend.
 *
 * @module @sea/backend-cpu
 */
import { registerBackend } from '@sea/tensor';
import { CpuBackend } from './cpu_backend.js';

export { CpuBackend } from './cpu_backend.js';

/** Registers the CPU backend (priority 0: the default only when nothing else is available). */
registerBackend({ name: 'cpu', priority: 0, create: () => new CpuBackend() });
