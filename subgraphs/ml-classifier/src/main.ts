import { runSubgraphProcess } from '@cap/host';
import { startMlClassifier } from './app.js';
import { loadConfig } from './config.js';

/** ML classifier process entry (distributed deployment): the shared process shape of `@cap/host`. */
await runSubgraphProcess({
  service: 'ml-classifier',
  loadConfig: () => loadConfig(),
  start: startMlClassifier,
});
