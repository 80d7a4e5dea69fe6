import { defineConfig } from 'vitest/config';

/**
 * Two tiers (docs/CONVENTIONS.md §15), named for what they are: `integration` = `*.test.ts`, in-process against
 * real services (PostgreSQL, Redis, Kafka); `*.e2e.ts` start whole
 * processes. Both resolve workspace packages through their `source` export condition, so tests run the
 * TypeScript sources, never stale builds.
 */
const shared = {
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
};

export default defineConfig({
  test: {
    globalSetup: ['./scripts/test-global-setup.ts'],
    // Two test files at a time (e2e files stay one at a time): much of a file's time is waiting on PostgreSQL,
    // Kafka and child processes, so even two cores gain (the whole suite, 174 files: 1,003 s against about 1,200 s
    // one at a time). Vitest's default on two cores is one. Tests isolate their data, so files may overlap.
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**', 'subgraphs/*/src/**', 'router/src/**', 'platform/src/**'],
      exclude: ['**/generated/**'],
    },
    projects: [
      {
        ...shared,
        test: {
          name: 'integration',
          include: ['{packages,subgraphs,router,platform,scripts,tests}/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'e2e',
          include: ['{packages,subgraphs,router,platform,scripts,tests}/**/*.e2e.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
