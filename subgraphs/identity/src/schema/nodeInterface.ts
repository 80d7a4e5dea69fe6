import { builder } from '../builder.js';

/** What identity's `Node` implementations share: an id (rows of `users` and `api_keys`). */
export interface NodeShape {
  id: string;
}

/** Relay-style `Node`: an object fetchable by id through `node(id:)`. */
export const NodeRef = builder.interfaceRef<NodeShape>('Node').implement({
  description: 'An object with a stable id, fetchable with `node(id:)` (users and API keys).',
  // API keys carry a prefix, users an email: the row tells its type.
  resolveType: (value) => ('prefix' in value ? 'ApiKey' : 'User'),
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
  }),
});
