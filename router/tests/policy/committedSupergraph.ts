import { readFileSync } from 'node:fs';
import { SATURATED } from '../../src/policy/documentWalk.js';
import type { OperationLimits } from '../../src/policy/limits.js';
import { loadSupergraphPolicy } from '../../src/policy/supergraphPolicy.js';

/** The composed supergraph as committed (`npm run generate`), the graph the router serves. */
export const committedSupergraphSdl = readFileSync(
  new URL('../../../schema/supergraph.graphql', import.meta.url),
  'utf8',
);

/** The router's policy over {@link committedSupergraphSdl}: the policy steps' pure functions run against it. */
export const committedPolicy = loadSupergraphPolicy(committedSupergraphSdl);

/** Operation limits that nothing reaches: a test sets only the limit it checks. */
export const UNLIMITED: OperationLimits = {
  maxDepth: SATURATED,
  maxAliases: SATURATED,
  maxRootFields: SATURATED,
  maxFields: SATURATED,
  maxDirectives: SATURATED,
  maxTokens: SATURATED,
  maxDocumentBytes: SATURATED,
};
