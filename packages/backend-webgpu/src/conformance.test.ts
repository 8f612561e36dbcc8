// The shared conformance suite (@sea/conformance) on the WebGPU backend, every primitive in float32,
// float16 and bfloat16 against the float64 definitions with the suite's tolerance table. float64 is
// not in this backend's dtypes (WGSL has no f64). Two backends run it: the default one (float16 in
// `array<f16>` with shader-f16 arithmetic where the device offers 'shader-f16', packed in u32 words
// otherwise), and one forced onto the packed float16 path, so both paths run on a device that has
// shader-f16. bfloat16 is packed on both. Without an adapter the suites are skipped with the reason.
import { conformanceSuite } from '@sea/conformance';
import { createWebGpuBackend } from './index.js';

conformanceSuite('webgpu', () => createWebGpuBackend());

conformanceSuite('webgpu, float16 packed in u32 words', () => createWebGpuBackend({ float16: 'packed' }), {
  dtypes: ['float16'],
});
