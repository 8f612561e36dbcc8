import { seaVitestConfig } from '@sea/vitest-config';

export default seaVitestConfig({ testTimeout: 300_000 });
