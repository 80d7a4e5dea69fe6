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
