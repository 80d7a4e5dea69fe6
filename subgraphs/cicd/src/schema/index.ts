import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { CicdContext } from '../context.js';
import './enums.js';
import './build.js';
import './fix.js';

/**
 * The cicd subgraph's federated subgraph schema (Federation 2). Access and cost are declared on the fields with the
 * Federation authorization and demand-control directives (README, "Router policy"): the router enforces them,
 * and so does this subgraph (ADR 0007).
 */
export const schema = buildSubgraphSchema<CicdContext>(builder, {
  principal: (context) => context.principal,
});
