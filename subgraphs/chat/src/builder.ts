import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { ChatContext } from './context.js';

/** Chat's one Pothos builder (the subgraph kit's, with live streams). */
export const builder = createSubgraphBuilder<ChatContext>({ subscriptions: true });
