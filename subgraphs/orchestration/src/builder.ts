import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';
import type { OrchestrationContext } from './context.js';

/** Orchestration's one Pothos builder (STYLE.md §2). */
export const builder = new SchemaBuilder<{
  Context: OrchestrationContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [DirectivePlugin, RelayPlugin, FederationPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Every subgraph defines PageInfo; it must be shareable for composition (same descriptions as chat's).
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
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.scalarType('DateTime', {
  description: 'An instant in time, serialized as an ISO-8601 string in UTC (e.g. 2026-01-31T12:00:00.000Z).',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value (structured data of a log entry).',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.queryType({ description: 'Root of every read.' });
builder.mutationType({ description: 'Root of every write.' });
builder.subscriptionType({ description: 'Root of every live stream (graphql-ws, through the router).' });
