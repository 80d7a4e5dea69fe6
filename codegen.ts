import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * GraphQL Code Generator: TypeScript types for the dashboard (`web/`) from the public API schema.
 *
 * `schema/api.graphql` is the client-facing schema printed from the composed supergraph by
 * `npm run generate`, so the types describe exactly what clients can query. Codegen reads only local files
 * and writes no timestamps: the same schema gives byte-identical output, so CI can diff the committed file
 * (docs/CONVENTIONS.md §4) and `tests/codegen.test.ts` does.
 */
const config: CodegenConfig = {
  schema: 'schema/api.graphql',
  overwrite: true,
  silent: true,
  generates: {
    'web/src/generated/graphql.ts': {
      plugins: ['typescript'],
      config: {
        /** String unions instead of TS enums: erasable, and match the wire format. */
        enumsAsTypes: true,
        /** Nullable fields stay optional (`field?: Maybe<T>`), as clients may not select them. */
        avoidOptionals: false,
        /** Every custom scalar must be mapped below: a new scalar fails codegen instead of becoming `any`. */
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          JSON: 'unknown',
        },
      },
    },
  },
};

export default config;
