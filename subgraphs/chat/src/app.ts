import { randomUUID } from 'node:crypto';
import { ChatTopic } from '@cap/events';
import { MemoryLiveBus, RedisLiveBus, type LiveBus } from '@cap/live';
import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import type { EventBus } from '@cap/messaging';
import { DEFAULT_COMMAND_TIMEOUT_MS, LogThrottle, type KeyValueStore, type Logger } from '@cap/runtime';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import { Redis } from 'ioredis';
import { attachmentRoutes } from './attachments/routes.js';
import type { ChatCache } from './cache/ChatCache.js';
import { MemoryChatCache } from './cache/MemoryChatCache.js';
import { RecentMessages } from './cache/RecentMessages.js';
import { RedisChatCache } from './cache/RedisChatCache.js';
import type { ChatConfig } from './config.js';
import { keepAgentRepliesConsumer } from './consumers/agentReplies.js';
import { createLoaders, type ChatContext } from './context.js';
import { openChatDb, SCHEMA } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { sweepAttachments } from './domain/attachments.js';
import type { ChatDeps } from './domain/deps.js';
import { MemoryEphemeralSet, RedisEphemeralSet, type EphemeralSet } from './live/EphemeralSet.js';
import { schema } from './schema/index.js';
import type { AttachmentStorage } from './storage/AttachmentStorage.js';
import { LocalDiskStorage } from './storage/LocalDiskStorage.js';
import { S3Storage } from './storage/S3Storage.js';

/** Wait between attempts to create chat's Kafka topics (ms). */
const TOPIC_RETRY_MS = 5_000;
/** How often abandoned uploads are swept (ms). */
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

/** What `startChat` runs on: infrastructure shared with other subgraphs of the process, or its own. */
export interface StartChatOptions extends SubgraphStartOptions<ChatConfig> {
  /** Shared cache of the process; chat reports it in `/ready` (its own Redis use goes through REDIS_URL). */
  kv: KeyValueStore;
}

/** A running chat instance. */
export interface RunningChat extends StartedSubgraph<ChatDeps> {
  /** Identifies this instance in logs (several may share one database and Redis). */
  instanceId: string;
  /**
   * Resolves once the consumer that posts the agent's messages joined its group (it retries while Kafka is down);
   * at once with AGENT_REPLIES_ENABLED=false.
   */
  agentRepliesReady: Promise<void>;
}

interface Realtime {
  live: LiveBus;
  ephemeral: EphemeralSet;
  cache: ChatCache;
  close(): Promise<void>;
}

/** Redis-backed fan-out, ephemeral state and cache when REDIS_URL is set (shared by instances); in-process otherwise. */
function openRealtime(config: ChatConfig, logger: Logger): Realtime {
  if (!config.REDIS_URL) {
    const ephemeral = new MemoryEphemeralSet();
    const live = new MemoryLiveBus();
    const cache = new MemoryChatCache({ capacity: config.CACHE_RECENT_MESSAGES });
    return {
      live,
      ephemeral,
      cache,
      close: async () => {
        await live.close();
        await cache.close();
        ephemeral.close();
      },
    };
  }
  const redis = new Redis(config.REDIS_URL, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    // Fail calls at once while disconnected (no offline queue, no retries across reconnects, a command timeout);
    // callers fall back to the database (ADR 0012). The connection keeps reconnecting, at most every 2 s.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: DEFAULT_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
  const redisErrors = new LogThrottle(30_000);
  redis.on('error', (error: unknown) => {
    const pass = redisErrors.take('error');
    if (pass) logger.warn({ err: error, suppressed: pass.suppressed }, 'chat redis error');
  });
  // Publishes on the shared connection, subscribes on a duplicate; channels `<prefix>live:<topic>` (ADR 0005).
  const live = new RedisLiveBus(redis, {
    prefix: `${config.REDIS_KEY_PREFIX}live:`,
    connectionName: `${config.REDIS_KEY_PREFIX}live`,
    logger,
    pollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
  });
  return {
    live,
    ephemeral: new RedisEphemeralSet(redis),
    cache: new RedisChatCache(redis, { capacity: config.CACHE_RECENT_MESSAGES }),
    close: async () => {
      await live.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

async function openStorage(config: ChatConfig): Promise<AttachmentStorage> {
  if (config.ATTACHMENT_STORAGE === 's3') {
    return new S3Storage({
      endpoint: config.S3_ENDPOINT!,
      region: config.S3_REGION,
      bucket: config.S3_BUCKET!,
      credentials: { accessKeyId: config.S3_ACCESS_KEY_ID!, secretAccessKey: config.S3_SECRET_ACCESS_KEY! },
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
    });
  }
  const local = new LocalDiskStorage(config.attachmentsDir);
  await local.init();
  return local;
}

/** Creates `topics`, retrying every few seconds until it succeeds or `stop()` is called. */
function ensureTopicsUntilDone(bus: EventBus, topics: string[], logger: Logger): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const attempt = (): void => {
    bus.ensureTopics(topics).then(
      () => undefined,
      (error: unknown) => {
        if (stopped) return;
        logger.warn({ err: error, topics }, 'could not create chat topics yet; retrying');
        timer = setTimeout(attempt, TOPIC_RETRY_MS);
        timer.unref();
      },
    );
  };
  attempt();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Starts the chat subgraph on shared infrastructure (its own process, or the all-in-one platform). */
export function startChat(options: StartChatOptions): Promise<RunningChat> {
  const instanceId = randomUUID();
  const logger = options.logger.child({ instanceId });
  return startSubgraph(
    { name: 'chat', schema: SCHEMA, open: openChatDb, options: { ...options, logger } },
    (start) => startInScope(start, instanceId),
  );
}

async function startInScope(
  { options, store, scope }: SubgraphStart<StartChatOptions, PrismaClient>,
  instanceId: string,
): Promise<Omit<RunningChat, 'close'>> {
  // `options.logger` is the instance's child logger (`instanceId` on every line).
  const { config, logger } = options;
  const { prisma } = store;
  const realtime = openRealtime(config, logger);
  scope.add('chat realtime', () => realtime.close());
  const storage = await openStorage(config);
  scope.add('chat attachment storage', () => storage.close());
  let publicUrl = config.PUBLIC_URL?.replace(/\/$/, '');
  const deps: ChatDeps = {
    prisma,
    live: realtime.live,
    ephemeral: realtime.ephemeral,
    recent: new RecentMessages({ cache: realtime.cache, capacity: config.CACHE_RECENT_MESSAGES, logger }),
    storage,
    logger,
    events: store.events,
    settings: {
      messageMaxBytes: config.MESSAGE_MAX_BYTES,
      attachmentMaxBytes: config.ATTACHMENT_MAX_BYTES,
      attachmentUploadTtlMs: config.ATTACHMENT_UPLOAD_TTL_SECONDS * 1000,
      attachmentDownloadTtlMs: config.ATTACHMENT_DOWNLOAD_TTL_SECONDS * 1000,
      attachmentSigningSecret: config.ATTACHMENT_SIGNING_SECRET,
      typingTtlMs: config.TYPING_TTL_SECONDS * 1000,
      presenceTtlMs: config.PRESENCE_TTL_SECONDS * 1000,
    },
    publicUrl: () => {
      if (!publicUrl) throw new Error('chat public URL is not known before the server listens');
      return publicUrl;
    },
  };
  store.startRelay();
  store.startPurger(config.PROCESSED_EVENTS_RETENTION_MS);
  // Kafka brokers do not create topics on demand. Until this succeeds, events wait in the outbox (nothing is lost),
  // so a broker that is down at start delays publishing, not the start.
  const topics = ensureTopicsUntilDone(options.bus, Object.values(ChatTopic), logger);
  scope.add('chat topic creation', () => topics.stop());
  // The agent's messages (questions, progress, results) come from orchestration's events (README "The agent in chat").
  const agentReplies = config.AGENT_REPLIES_ENABLED ? keepAgentRepliesConsumer(deps, options.bus) : null;
  if (agentReplies) scope.add('chat agent-replies consumer', () => agentReplies.close());

  const subgraph = await serveSubgraph<ChatContext>({
    name: 'chat',
    schema,
    config,
    logger,
    scope,
    database: options.database,
    // Without Redis, chat reads from the database and subscriptions poll it (ADR 0012): degraded, not down.
    cache: options.kv,
    live: realtime.live,
    readiness: { [`storage:${storage.kind}`]: () => storage.ping() },
    context: (request) => {
      const base = baseRequestContext(deps, request);
      return { ...base, loaders: createLoaders(base.deps, request.claims.principal) };
    },
    routes: attachmentRoutes(deps),
  });
  publicUrl ??= subgraph.url;

  const sweep = (): void => {
    sweepAttachments(deps)
      .then(async (removed) => {
        if (removed > 0) logger.info({ removed }, 'swept abandoned attachments');
        if (storage instanceof LocalDiskStorage) await storage.sweepIncoming(60 * 60 * 1000);
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'attachment sweep failed'));
  };
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  scope.add('chat attachment sweeper', () => clearInterval(sweeper));

  return { subgraph, deps, instanceId, agentRepliesReady: agentReplies?.ready ?? Promise.resolve() };
}
