/**
 * Test helper: one WebGPU backend per test file, or the reason none can be made here (printed, and
 * the tests skip).
 */
import { BackendUnavailableError } from '@sea/tensor';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../src/index.js';

export async function tryBackend(
  opts: WebGpuBackendOptions = {},
): Promise<{ backend: WebGpuBackend | null; reason: string }> {
  try {
    return { backend: await createWebGpuBackend(opts), reason: '' };
  } catch (e) {
    const reason = e instanceof BackendUnavailableError ? e.reason : String(e);
    console.warn(`webgpu tests skipped: ${reason}`);
    return { backend: null, reason };
  }
}

/** Deterministic uniform values in [lo, hi) (mulberry32). */
export function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d) ? !(Number.isNaN(a[i]) && Number.isNaN(b[i])) : d > m)
      m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
