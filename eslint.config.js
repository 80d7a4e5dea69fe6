// One linter config for the whole repository (docs/CONVENTIONS.md §17).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Packages meet only through their `exports`; subgraphs never import each other (docs/CONVENTIONS.md §3). */
const boundaries = {
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: ['**/packages/*/src/**', '**/subgraphs/*/src/**', '**/router/src/**', '**/platform/src/**'],
          message: 'Import workspace packages by name, through their exports.',
        },
        {
          group: ['../../*/src/**', '../../../*/src/**'],
          message: 'Import workspace packages by name, through their exports.',
        },
      ],
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '**/generated/**',
      '.data/**',
      '.cache/**',
      'web/**',
      'scripts/prisma-schema-engine/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' },
    },
    rules: {
      ...boundaries,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['**/tests/**', '**/*.test.ts', '**/*.e2e.ts', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', 'scripts/**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: { 'no-console': 'off' },
  },
);
