import { buildSubgraphSchema } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import type { GithubContext } from '../context.js';
import './enums.js';
import './repository.js';
import './pullRequest.js';
import './pullRequestUpdated.js';

/**
 * The github subgraph's federated schema (Federation 2). Access and cost are declared on the fields (README,
 * "Router policy"): the router enforces them, and so does this subgraph (ADR 0007).
 */
export const schema = buildSubgraphSchema<GithubContext>(builder, {
  principal: (context) => context.principal,
});
