import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { ChatContext } from '../context.js';
import './enums.js';
import './user.js';
import './attachment.js';
import './conversation.js';
import './message.js';
import './search.js';
import './realtime.js';
import './admin.js';

/**
 * Chat's federated subgraph schema (Federation 2). Access and cost are declared on the fields with the Federation
 * authorization and demand-control directives (README, "Access and cost"): the router enforces them, and so does
 * this subgraph (ADR 0007). Membership of conversations stays in the domain code.
 */
export const schema = buildSubgraphSchema<ChatContext>(builder, {
  principal: (context) => context.principal,
  resumable: true,
});
