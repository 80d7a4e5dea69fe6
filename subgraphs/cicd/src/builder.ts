import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { CicdContext } from './context.js';

/** The cicd subgraph's one Pothos builder (the subgraph kit's, with live streams: `buildStatusChanged`). */
export const builder = createSubgraphBuilder<CicdContext>({ subscriptions: true });
