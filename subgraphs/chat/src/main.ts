import { runSubgraphProcess } from '@cap/host';
import { startChat } from './app.js';
import { loadConfig } from './config.js';

/** Chat process entry (distributed deployment): the shared process shape of `@cap/host`. */
await runSubgraphProcess({ service: 'chat', loadConfig: () => loadConfig(), start: startChat });
