import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { MlClassifierContext } from '../context.js';
import './enums.js';
import './classification.js';
import './models.js';
import './training.js';

/**
 * The classifier's federated subgraph schema (Federation 2). Access and cost are declared on the fields with
 * the Federation authorization and demand-control directives: the router enforces them, and so does this
 * subgraph (ADR 0007).
 */
export const schema = buildSubgraphSchema<MlClassifierContext>(builder, {
  principal: (context) => context.principal,
});
