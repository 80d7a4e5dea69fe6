import { runSubgraphProcess } from '@cap/host';
import { startCicd } from './app.js';
import { loadConfig } from './config.js';

/** Cicd process entry (distributed deployment): the shared process shape of `@cap/host`. */
await runSubgraphProcess({ service: 'cicd', loadConfig: () => loadConfig(), start: startCicd });
