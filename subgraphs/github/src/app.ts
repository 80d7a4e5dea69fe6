import {
  AppInstallationTokenProvider,
  CredentialCipher,
  PersonalAccessTokenProvider,
  SecretRedactor,
} from '@cap/github-client';
import { openLiveBus } from '@cap/live';
import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import type { GithubConfig } from './config.js';
import { keepTaskCompletedConsumer } from './consumers/taskCompleted.js';
import type { GithubContext } from './context.js';
import { openGithubDb, SCHEMA } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { GithubDeps } from './domain/deps.js';
import { GithubAccess } from './domain/githubAccess.js';
import { resealCredentials } from './domain/oauth.js';
import { PullRequestReconciler } from './jobs/pullRequestReconciler.js';
import { PullRequestWorker } from './jobs/pullRequestWorker.js';
import {
  OAUTH_CALLBACK_PATH,
  oauthCallbackRoute,
  REPOSITORY_TOKEN_PATH,
  repositoryTokenRoute,
} from './routes.js';
import { schema } from './schema/index.js';
import { WEBHOOK_PATH, webhookRoute } from './webhooks/webhookRoute.js';
import { WebhookProcessor } from './webhooks/webhookProcessor.js';

export type StartGithubOptions = SubgraphStartOptions<GithubConfig>;

export interface RunningGithub extends StartedSubgraph<GithubDeps> {
  webhooks: WebhookProcessor;
  /** Opens and updates tasks' pull requests after the consumer recorded the jobs. */
  pullRequests: PullRequestWorker;
  /** Re-reads open task pull requests from GitHub (lost webhook deliveries); idle when polling is disabled. */
  reconciler: PullRequestReconciler;
  /** Resolves once the TaskCompleted consumer joined its group (it keeps retrying while Kafka is down). */
  consumerReady: Promise<void>;
}

/** Starts the github subgraph on shared infrastructure (its own process, or the all-in-one platform). */
export function startGithub(options: StartGithubOptions): Promise<RunningGithub> {
  return startSubgraph({ name: 'github', schema: SCHEMA, open: openGithubDb, options }, startInScope);
}

async function startInScope({
  options,
  store,
  scope,
}: SubgraphStart<StartGithubOptions, PrismaClient>): Promise<Omit<RunningGithub, 'close'>> {
  const { config, logger } = options;
  const { prisma } = store;
  // Pull-request changes fan out to `pullRequestUpdated` subscribers on every instance (Redis; in process without).
  const live = openLiveBus({ name: 'github', config, logger, scope });
  const redactor = new SecretRedactor();
  redactor.register(config.GITHUB_WEBHOOK_SECRET);
  if (config.GITHUB_CLIENT_SECRET) redactor.register(config.GITHUB_CLIENT_SECRET);
  const cipher = CredentialCipher.fromSpec(config.GITHUB_ENCRYPTION_KEYS);
  const client = {
    baseUrl: config.GITHUB_API_URL,
    timeoutMs: config.GITHUB_REQUEST_TIMEOUT_MS,
    retryAfterBaseMs: config.GITHUB_RETRY_AFTER_BASE_MS,
    log: {
      debug: (message: string) => logger.debug({ github: message }, 'GitHub client'),
      info: (message: string) => logger.debug({ github: message }, 'GitHub client'),
      warn: (message: string) => logger.warn({ github: message }, 'GitHub client'),
      error: (message: string) => logger.warn({ github: message }, 'GitHub client'),
    },
  };
  const access = new GithubAccess({
    app:
      config.GITHUB_APP_ID && config.GITHUB_APP_PRIVATE_KEY
        ? new AppInstallationTokenProvider({
            appId: config.GITHUB_APP_ID,
            privateKey: config.GITHUB_APP_PRIVATE_KEY,
            client,
            redactor,
          })
        : null,
    pat: config.GITHUB_TOKEN ? new PersonalAccessTokenProvider(config.GITHUB_TOKEN, redactor) : null,
    prisma,
    cipher,
    redactor,
    client,
    logger,
  });
  const deps: GithubDeps = {
    prisma,
    access,
    cipher,
    redactor,
    logger,
    live,
    events: store.events,
    settings: {
      webUrl: config.GITHUB_WEB_URL,
      oauth:
        config.GITHUB_CLIENT_ID && config.GITHUB_CLIENT_SECRET
          ? {
              clientId: config.GITHUB_CLIENT_ID,
              clientSecret: config.GITHUB_CLIENT_SECRET,
              redirectUrl: config.GITHUB_OAUTH_REDIRECT_URL,
            }
          : null,
      oauthStateTtlSeconds: config.GITHUB_OAUTH_STATE_TTL_SECONDS,
      pullRequestDraft: config.GITHUB_PULL_REQUEST_DRAFT,
      taskUrlTemplate: config.TASK_URL_TEMPLATE,
      pullRequestReservationTtlMs: config.GITHUB_PULL_REQUEST_RESERVATION_TTL_MS,
    },
  };
  // A rotated key ring (a new key first) re-seals what the old keys sealed; the old keys can go afterwards.
  const resealed = await resealCredentials(deps);
  if (resealed > 0) logger.info({ resealed, key: cipher.primaryKeyId }, 'GitHub credentials re-sealed');
  store.startRelay();
  store.startPurger(config.PROCESSED_EVENTS_RETENTION_MS);
  const webhooks = new WebhookProcessor(deps, { intervalMs: config.GITHUB_WEBHOOK_RETRY_INTERVAL_MS });
  webhooks.start();
  scope.add('github webhook processor', () => webhooks.stop());
  const pullRequests = new PullRequestWorker(deps, {
    intervalMs: config.GITHUB_PULL_REQUEST_RETRY_INTERVAL_MS,
    retryBaseMs: config.GITHUB_PULL_REQUEST_RETRY_INTERVAL_MS,
    // A job's GitHub work is a handful of requests, each bounded by the request timeout (and its retries).
    leaseMs: 10 * config.GITHUB_REQUEST_TIMEOUT_MS,
  });
  pullRequests.start();
  scope.add('github pull-request worker', () => pullRequests.stop());
  const reconciler = new PullRequestReconciler(deps, { intervalMs: config.GITHUB_PR_POLL_INTERVAL_MS });
  reconciler.start();
  scope.add('github pull-request reconciler', () => reconciler.stop());
  const consumer = keepTaskCompletedConsumer(deps, options.bus, () => pullRequests.notify());
  scope.add('github consumer', () => consumer.close());

  const subgraph = await serveSubgraph<GithubContext>({
    name: 'github',
    schema,
    config,
    logger,
    scope,
    database: options.database,
    cache: options.kv,
    live,
    context: (request) => baseRequestContext(deps, request),
    routes: {
      [`POST ${WEBHOOK_PATH}`]: webhookRoute({
        prisma,
        secret: config.GITHUB_WEBHOOK_SECRET,
        logger,
        onRecorded: () => webhooks.notify(),
      }),
      [`GET ${OAUTH_CALLBACK_PATH}`]: oauthCallbackRoute(deps),
      [`POST ${REPOSITORY_TOKEN_PATH}`]: repositoryTokenRoute(deps, config.INTERNAL_TOKEN_SECRET),
    },
  });
  return { subgraph, deps, webhooks, pullRequests, reconciler, consumerReady: consumer.ready };
}
