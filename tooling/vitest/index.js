// Shared vitest settings: resolve workspace packages to their TypeScript sources
// (the "source" export condition), so tests never need a build first.
import { defineConfig } from 'vitest/config';

export function seaVitestConfig(overrides = {}) {
  return defineConfig({
    resolve: { conditions: ['source', 'import', 'module', 'default'] },
    ssr: { resolve: { conditions: ['source', 'import', 'module', 'default'] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 60_000,
      hookTimeout: 60_000,
      ...overrides,
    },
  });
}
