/**
 * Browser entry running the shared conformance suite on WebGPU through navigator.gpu, in float32,
 * float16 and bfloat16 (16-bit storage packed in u32 words where the adapter has no shader-f16, as
 * SwiftShader in headless Chromium), with the vitest stand-in of the device bundle. Leaves the
 * counts and failures in `globalThis.__seaResult`.
 */
import { conformanceSuite } from '@sea/conformance';
import { createWebGpuBackend } from '../../src/index.js';
import { runRegistered } from '../device/vitest_shim.js';

let adapter: unknown = null;
conformanceSuite('webgpu (browser)', async () => {
  // SwiftShader allocates in the host's memory, which a page cannot read: bound what the suite
  // may hold, so the out-of-memory cases get the backend's own DeviceError
  const b = await createWebGpuBackend({ maxBytes: 2 ** 32 });
  adapter = { ...b.summary, float16: b.nativeF16 ? 'native' : 'packed' };
  return b;
});

const g = globalThis as { __seaResult?: unknown };
runRegistered().then(
  (s) => {
    g.__seaResult = { adapter, ...s };
  },
  (e: unknown) => {
    g.__seaResult = { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  },
);
