/**
 * `@sea/backend-cuda`: the CUDA backend (driver API + cuBLAS through koffi, CUDA C kernels compiled by
 * NVRTC). Importing this module registers it as 'cuda' (priority 20); on a machine without an NVIDIA
 * driver `create()` throws BackendUnavailableError and the registry reports why.
 *
 * @module @sea/backend-cuda
 */
import { registerBackend } from '@sea/tensor';
import { createCudaBackend } from './cuda_backend.js';

registerBackend({ name: 'cuda', priority: 20, create: () => createCudaBackend() });

export { DeviceError } from '@sea/tensor';
export { CUDA_CONFORMANCE_OPTIONS } from './conformance_options.js';
export { CudaBackend, type CudaDeviceInfo, createCudaBackend } from './cuda_backend.js';
export { bucketOf, CudaBuffer } from './memory.js';
export { compileKernelSource, KERNEL_DIR } from './modules.js';
/** The conv2d kernel instances and the op with a chosen instance (for the benchmark). */
export {
  CONV_OBLOCKS_ALL,
  type ConvOblock,
  conv2d as conv2dWithKernel,
  convOblockFits,
  convOblockFor,
} from './ops/conv.js';
/** The fused CSR attention instances (for the benchmark: set `backend.csrAttentionKernel`). */
export { CSR_ATTENTION_KERNELS, DEFAULT_CSR_ATTENTION_KERNEL } from './ops/sea.js';
