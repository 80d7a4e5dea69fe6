import { loadConfig as loadChatConfig, startChat, type RunningChat } from '@cap/chat';
import { loadConfig as loadCicdConfig, startCicd, type RunningCicd } from '@cap/cicd';
import type { Database } from '@cap/db';
import { loadGithubConfig, startGithub, type RunningGithub } from '@cap/github';
import {
  loadConfig as loadIdentityConfig,
  saveAdminCredentials,
  startIdentity,
  type RunningIdentity,
} from '@cap/identity';
import { openInfrastructure } from '@cap/host';
import type { EventBus } from '@cap/messaging';
import {
  loadConfig as loadMlClassifierConfig,
  startMlClassifier,
  type RunningMlClassifier,
} from '@cap/ml-classifier';
import {
  loadConfig as loadOrchestrationConfig,
  startOrchestration,
  type RunningOrchestration,
} from '@cap/orchestration';
import {
  loadConfig as loadRouterConfig,
  RevocationFeed,
  startRouter,
  subgraphUrlEnv,
  type RunningRouter,
} from '@cap/router';
import { Shutdown, type KeyValueStore, type Logger } from '@cap/runtime';
import type { PlatformConfig } from './config.js';

/**
 * Orchestration settings that suit one process better than its own defaults; a value set in the environment wins.
 *
 * - The classifier runs in this process too: the in-memory bus carries TaskCreated to it and its TaskClassified
 *   back (the bus delivers to consumers of the same process), so tasks wait for their classification as they do
 *   with Kafka, at most CLASSIFICATION_TIMEOUT_MS.
 * - On embedded PostgreSQL every query runs on this process's main thread, in PGlite's one session, between the
 *   requests. Workers and the outbox relay are woken in-process the moment there is work, so their polls are only
 *   a safety net, and the sweeper only has 30-second leases to check: poll less often there.
 */
function orchestrationDefaults(
  config: PlatformConfig,
  env: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const defaults: Record<string, string> = {};
  if (!config.DATABASE_URL) {
    defaults['WORKER_POLL_INTERVAL_MS'] = '2000';
    defaults['OUTBOX_POLL_INTERVAL_MS'] = '1000';
    defaults['SWEEP_INTERVAL_MS'] = '5000';
  }
  return Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, env[name] ?? value]));
}

export interface RunningPlatform {
  router: RunningRouter;
  identity: RunningIdentity;
  chat: RunningChat;
  orchestration: RunningOrchestration;
  mlClassifier: RunningMlClassifier;
  github: RunningGithub;
  cicd: RunningCicd;
  database: Database;
  kv: KeyValueStore;
  bus: EventBus;
  /** Where the first admin's generated credentials were written (development, first start only). */
  adminCredentialsFile: string | null;
  close(): Promise<void>;
}

/**
 * Starts every subgraph (identity, chat, ml-classifier, orchestration, github, cicd) and the router in one process on shared infrastructure:
 * embedded PostgreSQL (PGlite) or DATABASE_URL, in-memory or Redis cache, in-memory or Kafka event bus. Closing
 * stops the router, then the subgraphs, then the bus, cache and database.
 */
export async function startPlatform(options: {
  config: PlatformConfig;
  env: Record<string, string | undefined>;
  logger: Logger;
}): Promise<RunningPlatform> {
  const { config, env, logger } = options;
  const shutdown = new Shutdown(logger);
  try {
    const { database, kv, bus } = await openInfrastructure({
      config,
      clientId: 'platform',
      logger,
      shutdown,
    });

    // Subgraphs listen on ephemeral loopback ports; only the router faces clients. They share DATA_DIR, so the
    // development secrets they generate (INTERNAL_TOKEN_SECRET above all) are the same for every component.
    const subgraphEnv = { ...env, HOST: '127.0.0.1', PORT: '0', DATA_DIR: config.DATA_DIR };
    const identityConfig = loadIdentityConfig(subgraphEnv);
    const identity = await startIdentity({
      config: identityConfig,
      database,
      kv,
      bus,
      logger: logger.child({ service: 'identity' }),
    });
    shutdown.add('identity', () => identity.close());

    // Chat keeps local attachments in $DATA_DIR/attachments; its upload and download links point at its own
    // loopback port here (the router does not proxy them), unless PUBLIC_URL says otherwise.
    const chat = await startChat({
      config: loadChatConfig(subgraphEnv),
      database,
      kv,
      bus,
      logger: logger.child({ service: 'chat' }),
    });
    shutdown.add('chat', () => chat.close());

    // Started before orchestration, so its consumer is there for the first TaskCreated.
    const mlClassifier = await startMlClassifier({
      config: loadMlClassifierConfig(subgraphEnv),
      database,
      kv,
      bus,
      logger: logger.child({ service: 'ml-classifier' }),
    });
    shutdown.add('ml-classifier', () => mlClassifier.close());

    // GitHub's webhooks and OAuth returns reach it through the router's origin (forwarded unchanged). Started before
    // orchestration, whose workers clone and push GitHub repositories with the tokens it grants.
    const github = await startGithub({
      config: loadGithubConfig(subgraphEnv),
      database,
      kv,
      bus,
      logger: logger.child({ service: 'github' }),
    });
    shutdown.add('github', () => github.close());

    const orchestration = await startOrchestration({
      config: loadOrchestrationConfig({
        GITHUB_SUBGRAPH_URL: github.subgraph.url,
        ...subgraphEnv,
        ...orchestrationDefaults(config, env),
      }),
      database,
      kv,
      bus,
      logger: logger.child({ service: 'orchestration' }),
    });
    shutdown.add('orchestration', () => orchestration.close());

    // The cicd subgraph asks the github subgraph (the custodian of credentials) for repository tokens.
    const cicd = await startCicd({
      config: loadCicdConfig({ GITHUB_SUBGRAPH_URL: github.subgraph.url, ...subgraphEnv }),
      database,
      kv,
      bus,
      logger: logger.child({ service: 'cicd' }),
    });
    shutdown.add('cicd', () => cicd.close());

    const routerConfig = loadRouterConfig({
      ...env,
      HOST: config.HOST,
      PORT: String(config.PORT),
      DATA_DIR: config.DATA_DIR,
      ...subgraphUrlEnv({ identity, chat, orchestration, 'ml-classifier': mlClassifier, github, cicd }),
      IDENTITY_INTERNAL_URL: identity.subgraph.url,
    });
    // Role changes, deactivations and revoked API keys reach the router through the same bus (ADR 0013).
    const revocations = new RevocationFeed({
      bus,
      logger: logger.child({ service: 'router', component: 'revocations' }),
    });
    shutdown.add('revocation feed', () => revocations.close());
    const joined = revocations.start();
    // The in-memory bus joins at once; Kafka may take a while, and the router reports it in /ready meanwhile.
    if (!config.KAFKA_BROKERS) await joined;
    const router = await startRouter({
      config: routerConfig,
      kv,
      logger: logger.child({ service: 'router' }),
      revocations,
    });
    // Closed first (reverse order): no request reaches a subgraph that is stopping.
    shutdown.add('router', () => router.close());

    const adminCredentialsFile = identity.bootstrappedAdmin?.generated
      ? saveAdminCredentials(config.DATA_DIR, identity.bootstrappedAdmin)
      : null;
    return {
      router,
      identity,
      chat,
      orchestration,
      mlClassifier,
      github,
      cicd,
      database,
      kv,
      bus,
      adminCredentialsFile,
      close: () => shutdown.close(),
    };
  } catch (error) {
    await shutdown.close();
    throw error;
  }
}
