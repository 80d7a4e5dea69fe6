import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { OrchestrationContext } from './context.js';

/** Orchestration's one Pothos builder (the subgraph kit's, with live streams and the JSON scalar of log data). */
export const builder = createSubgraphBuilder<OrchestrationContext>({
  subscriptions: true,
  json: { description: 'Any JSON value (structured data of a log entry).' },
});
