/// <reference types="@webgpu/types" />
/**
 * `@sea/backend-webgpu`: importing this package registers the 'webgpu' backend (priority 10). Where
 * no adapter exists (or the device is lost) creation fails with the reason and the registry falls
 * back to the next backend (CPU).
 *
 * @module @sea/backend-webgpu
 */
import { registerBackend } from '@sea/tensor';
import { acquireDevice, type DeviceOptions } from './device.js';
import { WebGpuBackend, type WebGpuBackendOptions } from './webgpu_backend.js';

export type { AdapterSummary, DeviceOptions, GpuContext } from './device.js';
export { acquireDevice } from './device.js';
export { type MatmulTuning, matmul as matmulWith } from './kernels/matmul.js';
export { TILE_CONFIGS, type TileConfig } from './kernels/matmul_tiled.js';
export {
  type GpuData,
  type MatmulVariant,
  WebGpuBackend,
  type WebGpuBackendOptions,
} from './webgpu_backend.js';

/** Creates a WebGPU backend on a fresh device; throws BackendUnavailableError with the reason. */
export async function createWebGpuBackend(
  opts: WebGpuBackendOptions & DeviceOptions = {},
): Promise<WebGpuBackend> {
  const ctx = await acquireDevice(opts);
  return new WebGpuBackend(ctx, opts);
}

registerBackend({ name: 'webgpu', priority: 10, create: () => createWebGpuBackend() });
