import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { CicdContext } from './context.js';

/** The cicd subgraph's one Pothos builder (the subgraph kit's). */
export const builder = createSubgraphBuilder<CicdContext>({ subscriptions: false });
