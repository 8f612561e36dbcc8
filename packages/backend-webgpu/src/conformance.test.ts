// The shared conformance suite (@sea/conformance) on the WebGPU backend, every primitive in float32,
// float16 and bfloat16 against the float64 definitions with the suite's tolerance table. float64 is
// not in this backend's dtypes (WGSL has no f64). Two backends run it: the default one (float16 in
// `array<f16>` with shader-f16 arithmetic where the device offers 'shader-f16', packed in u32 words
// otherwise), and one forced onto the packed float16 path, so both paths run on a device that has
// shader-f16. bfloat16 is packed on both. Without an adapter the suites are skipped with the reason.
// A part only: SEA_CONFORMANCE_GROUPS=errors,memory SEA_CONFORMANCE_DTYPES=float16
// SEA_CONFORMANCE_FLOAT16=default|packed|both (comma lists; default everything).
import { partFromEnv, registerWebGpuConformance } from '../test/conformance_runs.js';

registerWebGpuConformance(partFromEnv(process.env));
