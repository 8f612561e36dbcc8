import { seaVitestConfig } from '@sea/vitest-config';

// The browser test builds the page and drives Chromium with SwiftShader WebGPU: minutes, not seconds.
export default seaVitestConfig({ testTimeout: 600_000, hookTimeout: 600_000 });
