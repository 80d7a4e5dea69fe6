import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import { openLiveBus } from '@cap/live';
import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '@cap/messaging';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import type { CicdConfig } from './config.js';
import { keepCicdConsumer } from './consumers/cicdConsumer.js';
import type { CicdContext } from './context.js';
import { openCicdDb, SCHEMA } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { CicdDeps } from './domain/deps.js';
import { createGithubActions, type GithubActions } from './domain/githubActions.js';
import { LogProcessor } from './domain/logProcessor.js';
import { RunPoller } from './domain/poller.js';
import { schema } from './schema/index.js';

export interface StartCicdOptions extends SubgraphStartOptions<CicdConfig> {
  /** Overrides the Actions API client (built from the configuration otherwise). */
  github?: GithubActions;
}

export interface RunningCicd extends StartedSubgraph<CicdDeps> {
  logs: LogProcessor;
  poller: RunPoller;
  /** Resolves once the event consumer has joined its group. */
  consumerReady: Promise<void>;
}

/** Builds still waiting for their logs are retried this often (a wake after a failed pass), ms. */
const LOG_RETRY_INTERVAL_MS = 60_000;

/** Starts the cicd subgraph on shared infrastructure (its own process, or the all-in-one platform). */
export function startCicd(options: StartCicdOptions): Promise<RunningCicd> {
  return startSubgraph({ name: 'cicd', schema: SCHEMA, open: openCicdDb, options }, startInScope);
}

async function startInScope({
  options,
  store,
  scope,
}: SubgraphStart<StartCicdOptions, PrismaClient>): Promise<Omit<RunningCicd, 'close'>> {
  const { config, logger } = options;
  const live = openLiveBus({ name: 'cicd', config, logger, scope });
  const deps: CicdDeps = {
    prisma: store.prisma,
    logger,
    live,
    events: store.events,
    github:
      options.github ??
      createGithubActions({
        apiUrl: config.GITHUB_API_URL,
        githubSubgraphUrl: config.GITHUB_SUBGRAPH_URL,
        token: config.GITHUB_TOKEN,
        internalTokenSecret: config.INTERNAL_TOKEN_SECRET,
      }),
    settings: {
      logMaxBytes: config.CI_LOG_MAX_BYTES,
      maxJobsPerRun: config.CI_MAX_JOBS_PER_RUN,
      logClaimTtlMs: config.CICD_LOG_CLAIM_TTL_MS,
    },
  };
  store.startRelay();
  const logs = new LogProcessor(deps);
  scope.add('cicd log processor', () => logs.close());
  const wakeLogs = () => void logs.wake();
  const retry = setInterval(wakeLogs, LOG_RETRY_INTERVAL_MS);
  retry.unref();
  scope.add('cicd log retry', () => clearInterval(retry));
  const poller = new RunPoller(deps, { intervalMs: config.CI_POLL_INTERVAL_MS, onFailedRun: wakeLogs });
  poller.start();
  scope.add('cicd poller', () => poller.stop());
  const consumer = keepCicdConsumer(deps, options.bus, wakeLogs);
  scope.add('cicd consumer', () => consumer.close());
  // Processed-event marks are kept the messaging default (7 days): a redelivery after that is not deduplicated.
  store.startPurger(DEFAULT_PROCESSED_EVENTS_RETENTION_MS);
  // Builds left waiting by a previous instance.
  wakeLogs();

  const subgraph = await serveSubgraph<CicdContext>({
    name: 'cicd',
    schema,
    config,
    logger,
    scope,
    database: options.database,
    // Without Redis, builds are still recorded; subscribers read the database by polling (ADR 0012).
    live,
    context: (request) => baseRequestContext(deps, request),
  });
  return { subgraph, deps, logs, poller, consumerReady: consumer.ready };
}
