/**
 * Adapter and device acquisition, one code path for browsers (`navigator.gpu`) and Node (Dawn, the
 * `webgpu` package). The returned context holds the `GPU` object alongside the device: in Dawn the
 * `create()` result owns the native instance that adapters and devices poll through a raw pointer,
 * so it must live exactly as long as the device (see the project's toolchain notes); the backend
 * keeps the whole context as a field and drops it only after `device.destroy()`.
 */
import { BackendUnavailableError } from '@sea/tensor';

export interface DeviceOptions {
  /** Prefer a low-power or high-performance adapter (browsers). */
  powerPreference?: GPUPowerPreference;
  /** Ignore workgroup-memory kernels even on a real GPU (tests). */
  forceFallbackKernels?: boolean;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (lavapipe, SwiftShader): pick kernels without workgroup memory. */
  isFallback: boolean;
  features: string[];
}

export interface GpuContext {
  /** The GPU entry point; kept alive with the device (Dawn's instance owner). */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly summary: AdapterSummary;
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups' as GPUFeatureName, 'timestamp-query'];

const LIMIT_NAMES = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'maxBindingsPerBindGroup',
] as const;

/**
 * Dawn's instance in Node: one per process, made at the first device and held for the process's life.
 * With an instance per device, a destroyed device's instance could be garbage-collected and torn down
 * by its finalizer while Dawn's threads were still winding down: the likely cause of an occasional
 * abort of a test process after its devices were gone. One instance is never collected.
 */
let dawnGpu: GPU | null = null;

async function entryPoint(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode)
    throw new BackendUnavailableError(
      'webgpu',
      'navigator.gpu is missing (this browser has no WebGPU, or it is disabled)',
    );
  // A non-literal specifier keeps browser bundlers from pulling in the Node-only Dawn binding.
  const spec = 'webgpu';
  let mod: { create: (flags: string[]) => GPU; globals: object };
  try {
    mod = (await import(/* @vite-ignore */ spec)) as typeof mod;
  } catch (e) {
    throw new BackendUnavailableError(
      'webgpu',
      `the Dawn binding (npm 'webgpu') failed to load: ${(e as Error).message}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  // Timestamp queries at full resolution (Dawn rounds them to 2^16 ns by default, a browser
  // privacy measure); only the profiler reads them.
  dawnGpu ??= mod.create(['disable-dawn-features=timestamp_quantization']);
  return dawnGpu;
}

/** Requests an adapter and a device with the adapter's real limits and the optional features it has. */
export async function acquireDevice(opts: DeviceOptions = {}): Promise<GpuContext> {
  const gpu = await entryPoint();
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) {
    const hint =
      typeof process !== 'undefined' && !process.env?.VK_ICD_FILENAMES && !process.env?.VK_DRIVER_FILES
        ? ' (no Vulkan driver found; on a machine without a GPU run tooling/setup-lavapipe.sh and source .lavapipe/env.sh)'
        : '';
    throw new BackendUnavailableError('webgpu', `no WebGPU adapter${hint}`);
  }
  const requiredLimits: Record<string, number> = {};
  const al = adapter.limits as unknown as Record<string, number>;
  for (const name of LIMIT_NAMES) if (typeof al[name] === 'number') requiredLimits[name] = al[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new BackendUnavailableError('webgpu', `requestDevice failed: ${(e as Error).message}`);
  }
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const fallbackFlag =
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
    false;
  const desc = `${info?.vendor ?? ''} ${info?.architecture ?? ''} ${info?.device ?? ''} ${info?.description ?? ''}`;
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(desc);
  const summary: AdapterSummary = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallback: fallbackFlag || software || !!opts.forceFallbackKernels,
    features: [...device.features].map(String),
  };
  return { gpu, adapter, device, summary };
}
