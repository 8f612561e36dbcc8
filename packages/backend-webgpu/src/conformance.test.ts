// The shared conformance suite (@sea/conformance) on the WebGPU backend. float64 is not in this
// backend's dtypes (WGSL has no f64), so the suite runs the dense tests in float32 only; nothing
// else is excluded. Without an adapter the suite is listed as skipped with the reason.
import { conformanceSuite } from '@sea/conformance';
import { createWebGpuBackend } from './index.js';

conformanceSuite('webgpu', () => createWebGpuBackend(), { dtypes: ['float32'] });
