/**
 * The WebGPU conformance runs, shared by the test file (src/conformance.test.ts) and the GPU
 * machine's device check (test/device/check.ts): the default backend (float16 in `array<f16>` with
 * shader-f16 arithmetic where the device offers 'shader-f16', packed in u32 words otherwise) in every
 * dtype, and one forced onto the packed float16 path in float16, so both paths run on a device that
 * has shader-f16. `groups`, `dtypes` and `float16` select a part (one short run of many).
 */
import { conformanceSuite } from '@sea/conformance';
import type { DType } from '@sea/tensor';
import { createWebGpuBackend } from '../src/index.js';

export interface ConformancePart {
  /** Conformance groups to run (default: all). */
  groups?: readonly string[];
  /** Float dtypes (default: float32, float16, bfloat16). */
  dtypes?: readonly DType[];
  /** Which float16 storage runs: the default backend's, the forced packed one, or both (default). */
  float16?: 'default' | 'packed' | 'both';
}

export function registerWebGpuConformance(part: ConformancePart = {}): void {
  const f16 = part.float16 ?? 'both';
  const dtypes = part.dtypes;
  if (f16 !== 'packed' || !dtypes || dtypes.some((d) => d !== 'float16'))
    conformanceSuite('webgpu', () => createWebGpuBackend(), {
      groups: part.groups,
      // the forced-packed run alone covers float16 when only it is asked for
      dtypes: f16 === 'packed' ? (dtypes ?? ['float32', 'bfloat16']).filter((d) => d !== 'float16') : dtypes,
    });
  if (f16 !== 'default' && (!dtypes || dtypes.includes('float16')))
    conformanceSuite(
      'webgpu, float16 packed in u32 words',
      () => createWebGpuBackend({ float16: 'packed' }),
      {
        groups: part.groups,
        dtypes: ['float16'],
      },
    );
}

/** A part from environment variables (SEA_CONFORMANCE_GROUPS, _DTYPES, _FLOAT16; comma lists). */
export function partFromEnv(env: Record<string, string | undefined>): ConformancePart {
  const list = (v: string | undefined) => (v ? v.split(',').filter(Boolean) : undefined);
  return {
    groups: list(env.SEA_CONFORMANCE_GROUPS),
    dtypes: list(env.SEA_CONFORMANCE_DTYPES) as DType[] | undefined,
    float16: env.SEA_CONFORMANCE_FLOAT16 as ConformancePart['float16'],
  };
}
