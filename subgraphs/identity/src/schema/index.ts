import { builder } from '../builder.js';
import './enums.js';
import './user.js';
import './apiKey.js';
import './session.js';

/** Identity's federated subgraph schema (Federation 2). */
export const schema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.9',
  federationDirectives: ['@key', '@shareable'],
});
