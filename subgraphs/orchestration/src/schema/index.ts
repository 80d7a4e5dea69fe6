import { builder } from '../builder.js';
import './enums.js';
import './user.js';
import './task.js';
import './execution.js';
import './taskLog.js';

/** Orchestration's federated subgraph schema (Federation 2). */
export const schema = builder.toSubGraphSchema({
  linkUrl: 'https://specs.apollo.dev/federation/v2.9',
  federationDirectives: ['@key', '@shareable', '@extends'],
});
