// The plugins augment Pothos' types (field `directives`, entities, connections). Their imports are values here, so a
// compiled declaration file would drop them and a subgraph built against dist/ would lose the augmentations:
// these references keep them in kit's declarations.
/// <reference types="@pothos/plugin-directives" preserve="true" />
/// <reference types="@pothos/plugin-federation" preserve="true" />
/// <reference types="@pothos/plugin-relay" preserve="true" />
import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';

/** Scalars every subgraph's builder knows; `JSON` is only added to the schema when a subgraph asks for it. */
export type SubgraphScalars = {
  DateTime: { Input: Date; Output: Date };
  JSON: { Input: unknown; Output: unknown };
};

/** The Pothos type parameters of a subgraph builder with context `Context`. */
export type SubgraphSchemaTypes<Context extends object> = {
  Context: Context;
  Scalars: SubgraphScalars;
  DefaultFieldNullability: false;
};

/** A subgraph's one Pothos builder. */
export type SubgraphBuilder<Context extends object> = PothosSchemaTypes.SchemaBuilder<
  PothosSchemaTypes.ExtendDefaultTypes<SubgraphSchemaTypes<Context>>
>;

/** What differs between subgraphs' builders. */
export interface SubgraphBuilderOptions {
  /** Adds the `Subscription` root (subgraphs with live streams). */
  subscriptions?: boolean;
  /** Adds the `JSON` scalar (a subgraph that exposes free-form structured data). */
  json?: { description: string };
}

/**
 * A subgraph's Pothos builder: federation, relay and directives plugins configured alike in every subgraph, the
 * `DateTime` scalar, the root types and the shared `PageInfo`. Every subgraph defines `PageInfo`, so it is
 * `@shareable` and its descriptions are the same everywhere (composition keeps one of them).
 */
export function createSubgraphBuilder<Context extends object>(
  options: SubgraphBuilderOptions = {},
): SubgraphBuilder<Context> {
  const builder = new SchemaBuilder<SubgraphSchemaTypes<Context>>({
    plugins: [DirectivePlugin, RelayPlugin, FederationPlugin],
    defaultFieldNullability: false,
    relay: {
      clientMutationId: 'omit',
      cursorType: 'String',
      pageInfoTypeOptions: { shareable: true, description: 'Relay pagination state of a connection.' },
      hasNextPageFieldOptions: { description: 'True when more items follow this page.' },
      hasPreviousPageFieldOptions: { description: 'True when items precede this page.' },
      startCursorFieldOptions: { description: 'Cursor of the first item of this page.' },
      endCursorFieldOptions: { description: 'Cursor of the last item of this page.' },
      pageInfoFieldOptions: { description: 'Where this page sits in the whole list.' },
      edgesFieldOptions: { description: 'The items of this page, each with its cursor.' },
      nodeFieldOptions: { description: 'The item.' },
      cursorFieldOptions: { description: 'Opaque position of this item; pass it as `after` or `before`.' },
      firstArgOptions: { description: 'Page forward: at most this many items.' },
      afterArgOptions: { description: 'Page forward: items after this cursor.' },
      lastArgOptions: { description: 'Page backward: at most this many items.' },
      beforeArgOptions: { description: 'Page backward: items before this cursor.' },
      // Each subgraph resolves its own nodes; the `node` query belongs to the subgraph that defines it.
      nodeQueryOptions: false,
      nodesQueryOptions: false,
    },
  });

  builder.scalarType('DateTime', {
    description:
      'An instant in time, serialized as an ISO-8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z).',
    serialize: (value) => value.toISOString(),
    parseValue: (value) => {
      const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
      if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
      return date;
    },
  });
  if (options.json) {
    builder.scalarType('JSON', {
      description: options.json.description,
      serialize: (value) => value,
      parseValue: (value) => value,
    });
  }

  builder.queryType({ description: 'Root of every read.' });
  builder.mutationType({ description: 'Root of every write.' });
  if (options.subscriptions)
    builder.subscriptionType({ description: 'Root of every live stream (graphql-ws, through the router).' });
  return builder;
}
