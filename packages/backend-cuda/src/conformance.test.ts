// The shared conformance suite (@sea/conformance) on the CUDA backend. Without an NVIDIA driver
// (CI, this machine) every test is listed as skipped and the reason is printed. Kernels that sum in
// float32 (conv2d, the CSR routines, the Performer prefix sums) get wider tolerances than the
// double-accumulating CPU oracle.
import { conformanceSuite } from '@sea/conformance';
import { CUDA_CONFORMANCE_OPTIONS } from './conformance_options.js';
import { createCudaBackend } from './cuda_backend.js';

conformanceSuite('cuda', async () => createCudaBackend(), CUDA_CONFORMANCE_OPTIONS);
