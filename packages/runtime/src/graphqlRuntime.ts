import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';

/**
 * graphql-js as Node loads it for every package: graphql 16 has no `exports` map, so both `require` and a native
 * `import` get its CommonJS build, the one Pothos and graphql-ws use to build and run schemas. A bundler-style
 * loader (the test runner transforming our sources) would pick its ESM build for a static import instead, and
 * graphql-js refuses a schema made by the other copy; values taken from here always match the schema's.
 */
export const graphqlRuntime = createRequire(import.meta.url)('graphql') as typeof GraphQL;
