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

/**
 * Integration test files that must import every module afresh (the default, `isolate: true`). `tests/codegen.test.ts`
 * compares GraphQL Code Generator's output byte for byte, and that output depends on graphql-js's built-in scalar
 * objects, which are process-wide singletons that other libraries loaded by other test files annotate.
 */
const NEEDS_FRESH_MODULES = ['tests/codegen.test.ts'];

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
          // Files share their worker's modules (ADR 0041): each worker imports the workspace once, not once per
          // file (the whole suite: about 490 s of imports became about 50 s). Tests already isolate their data and
          // close what they open; a file that needs fresh modules is listed in NEEDS_FRESH_MODULES instead.
          isolate: false,
          setupFiles: ['./scripts/test-leak-report.ts'],
          exclude: ['**/node_modules/**', '**/dist/**', ...NEEDS_FRESH_MODULES],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'integration-isolated',
          include: NEEDS_FRESH_MODULES,
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
