import { createRequire } from 'node:module';
import type * as GraphQLModule from 'graphql';

/**
 * graphql's CommonJS build, the one Pothos builds subgraph schemas with (Node resolves the package's `main`;
 * plain Node ESM imports get the same module). graphql-js refuses a directive made by another copy ("another
 * realm"), and test runners load this file with the ES module build.
 */
const { DirectiveLocation, GraphQLDirective, GraphQLNonNull, GraphQLString, specifiedDirectives } =
  createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

/**
 * `@resumable(argument:, cursorField:)` on a subscription root field: subscribing again with `argument` set to the
 * `cursorField` of the last event received replays exactly what came after it, each once. Declared by the
 * subgraph that owns the field and carried into the supergraph with `@composeDirective`; the router reads it there
 * to resume an upstream subscription after the subgraph's socket dropped, without gap or duplicate (ADR 0008).
 */
export const resumableDirective = new GraphQLDirective({
  name: 'resumable',
  description:
    'Subscribing again with `argument` set to the `cursorField` of the last event received resumes after it.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    argument: { type: new GraphQLNonNull(GraphQLString), description: 'Argument that says where to resume.' },
    cursorField: {
      type: new GraphQLNonNull(GraphQLString),
      description: 'Field of each event holding the position to resume after.',
    },
  },
});

/** The spec `@resumable` is linked from: composition keeps a composed directive only when it is imported by `@link`. */
export const RESUMABLE_SPEC_URL = 'https://specs.cap.local/resumable/v0.1';

/**
 * Options for Pothos' `toSubGraphSchema` of a subgraph with resumable subscription fields: defines the directive,
 * links it and composes it into the supergraph. Spread into the options beside `linkUrl`/`federationDirectives`.
 */
export const resumableSubgraphOptions = {
  // A schema given `directives` has only those: keep @skip, @include, @deprecated and @specifiedBy beside ours.
  directives: [...specifiedDirectives, resumableDirective],
  composeDirectives: ['@resumable'] as `@${string}`[],
  extensions: { directives: [{ name: 'link', args: { url: RESUMABLE_SPEC_URL, import: ['@resumable'] } }] },
};

/** Value for Pothos' `directives:` option: `@resumable(argument:, cursorField:)`. */
export function resumable(
  argument: string,
  cursorField: string,
): { resumable: { argument: string; cursorField: string } } {
  return { resumable: { argument, cursorField } };
}
