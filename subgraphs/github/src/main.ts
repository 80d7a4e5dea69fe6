import { runSubgraphProcess } from '@cap/host';
import { startGithub } from './app.js';
import { loadGithubConfig } from './config.js';

/** The github subgraph's process entry (distributed deployment): the shared process shape of `@cap/host`. */
await runSubgraphProcess({ service: 'github', loadConfig: () => loadGithubConfig(), start: startGithub });
