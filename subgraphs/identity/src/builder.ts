import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { IdentityContext } from './context.js';

/** Identity's one Pothos builder (the subgraph kit's). */
export const builder = createSubgraphBuilder<IdentityContext>();
