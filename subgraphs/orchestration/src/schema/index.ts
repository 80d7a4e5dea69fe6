import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { OrchestrationContext } from '../context.js';
import './enums.js';
import './user.js';
import './task.js';
import './taskMutations.js';
import './execution.js';
import './taskLog.js';
import './taskLogBatches.js';

/**
 * Orchestration's federated subgraph schema (Federation 2). Access and cost are declared on the fields with the
 * Federation authorization and demand-control directives (README, "Access and cost"): the router enforces them,
 * and so does this subgraph (ADR 0007). Who may change which task (creator or admin) stays in the domain code.
 */
export const schema = buildSubgraphSchema<OrchestrationContext>(builder, {
  principal: (context) => context.principal,
  extraFederationDirectives: ['@extends'],
  resumable: true,
});
