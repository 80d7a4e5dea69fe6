import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { GithubContext } from './context.js';

/** The github subgraph's one Pothos builder (the subgraph kit's). */
export const builder = createSubgraphBuilder<GithubContext>({ subscriptions: true });
