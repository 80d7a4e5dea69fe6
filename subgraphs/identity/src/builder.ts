import SchemaBuilder from '@pothos/core';
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';
import type { IdentityContext } from './context.js';

/** Identity's one Pothos builder (STYLE.md §2). */
export const builder = new SchemaBuilder<{
  Context: IdentityContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [DirectivePlugin, RelayPlugin, FederationPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Every subgraph defines PageInfo; it must be shareable for composition.
    pageInfoTypeOptions: { shareable: true, description: 'Relay pagination state of a connection.' },
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

builder.queryType({ description: 'Root of every read.' });
builder.mutationType({ description: 'Root of every write.' });
