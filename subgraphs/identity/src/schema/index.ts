import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { IdentityContext } from '../context.js';
import './enums.js';
// API keys' root fields come first (as before refs.ts broke the user/apiKey cycle): the printed schema keeps its order.
import './apiKey.js';
import './user.js';
import './session.js';
import './node.js';

/**
 * Identity's federated subgraph schema (Federation 2). Access and cost are declared on the fields with the
 * Federation authorization and demand-control directives (README, "Router policy"): the router enforces them,
 * and so does this subgraph (ADR 0007).
 */
export const schema = buildSubgraphSchema<IdentityContext>(builder, {
  principal: (context) => context.principal,
});
