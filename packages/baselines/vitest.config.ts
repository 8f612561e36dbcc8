import { seaVitestConfig } from '@sea/vitest-config';

export default seaVitestConfig();
