import { runSubgraphProcess } from '@cap/host';
import { startOrchestration } from './app.js';
import { loadConfig } from './config.js';

/** Orchestration process entry (distributed deployment): the subgraph, its workers, sweeper and consumer. */
await runSubgraphProcess({
  service: 'orchestration',
  loadConfig: () => loadConfig(),
  start: startOrchestration,
  // Running executions get SHUTDOWN_GRACE_MS to finish; the rest of the shutdown gets 15 s more.
  shutdownTimeoutMs: (config) => config.SHUTDOWN_GRACE_MS + 15_000,
});
