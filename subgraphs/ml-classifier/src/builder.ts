import { createSubgraphBuilder } from '@cap/runtime/kit';
import type { MlClassifierContext } from './context.js';

/** The classifier's one Pothos builder (the subgraph kit's), with the `JSON` scalar for models' metrics. */
export const builder = createSubgraphBuilder<MlClassifierContext>({
  json: { description: 'Any JSON value (a model evaluation and provenance).' },
});
