import { builder } from '../builder.js';
import './enums.js';
import './user.js';
import './attachment.js';
import './conversation.js';
import './message.js';
import './search.js';
import './realtime.js';
import './admin.js';

/** Chat's federated subgraph schema (Federation 2). */
export const schema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.9',
  federationDirectives: ['@key', '@shareable'],
});
