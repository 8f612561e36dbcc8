import { seaVitestConfig } from '@sea/vitest-config';

// Packing builds every public package (tsc each) and npm installs the tarballs: minutes on a
// loaded two-core machine.
export default seaVitestConfig({ testTimeout: 600_000, hookTimeout: 1_200_000 });
