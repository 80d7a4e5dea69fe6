import { join } from 'node:path';
import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '@cap/messaging';
import {
  envBoolean,
  envInt,
  livePollIntervalMs,
  parseEnv,
  processedEventsRetentionMs,
  subgraphEnvShape,
  withDevelopmentSecrets,
} from '@cap/runtime';
import { z } from 'zod';

const MIB = 1024 * 1024;
/** Largest attachment the S3 adapter accepts: it buffers one upload in memory. */
const S3_MAX_BYTES = 64 * MIB;

/**
 * Chat's configuration: the only place that reads the environment (docs/CONVENTIONS.md §11). In development every secret
 * is generated once and kept under DATA_DIR; in production each must be set.
 */
const schema = z
  .object({
    ...subgraphEnvShape(4002),
    /** How long the agent-replies consumer's deduplication marks are kept, ms (purged hourly; default 7 days). */
    PROCESSED_EVENTS_RETENTION_MS: processedEventsRetentionMs(DEFAULT_PROCESSED_EVENTS_RETENTION_MS),
    /** Prefix of every Redis key and pub/sub channel chat uses (default `cap:chat:`). Instances that share it meet. */
    REDIS_KEY_PREFIX: z.string().min(1).max(100).default('cap:chat:'),
    /** Signs attachment upload and download URLs (HMAC-SHA256). >= 32 characters. */
    ATTACHMENT_SIGNING_SECRET: z.string().min(32).optional(),
    /** Base URL clients reach this service at, for attachment URLs; default: the address it listens on. */
    PUBLIC_URL: z.string().url().optional(),
    /** Largest message body, UTF-8 bytes (default 32,768). */
    MESSAGE_MAX_BYTES: envInt(1_024, 1_048_576).default(32_768),
    /** Largest attachment, bytes (default 10 MiB). */
    ATTACHMENT_MAX_BYTES: envInt(1_024, 1_024 * MIB).default(10 * MIB),
    /** How long an upload URL stays valid, seconds (default 900). */
    ATTACHMENT_UPLOAD_TTL_SECONDS: envInt(10, 86_400).default(900),
    /** How long a download URL stays valid, seconds (default 300). */
    ATTACHMENT_DOWNLOAD_TTL_SECONDS: envInt(10, 86_400).default(300),
    /** Where attachment bytes go: `local` (DATA_DIR/attachments) or `s3` (any S3-compatible store). */
    ATTACHMENT_STORAGE: z.enum(['local', 's3']).default('local'),
    /** S3 endpoint, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000` (MinIO). */
    S3_ENDPOINT: z.string().url().optional(),
    /** S3 region used in request signatures (default `us-east-1`). */
    S3_REGION: z.string().min(1).default('us-east-1'),
    /** S3 bucket holding attachments. */
    S3_BUCKET: z.string().min(3).max(63).optional(),
    /** S3 access key id. */
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    /** S3 secret access key. */
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** Path-style URLs (`endpoint/bucket/key`, default true) or virtual-hosted (`bucket.endpoint/key`). */
    S3_FORCE_PATH_STYLE: envBoolean.default(true),
    /** Messages kept per conversation in the recent-message cache (default 100). */
    CACHE_RECENT_MESSAGES: envInt(50, 1_000).default(100),
    /** While Redis is unreachable, how often `messagePosted` subscribers read the database instead, ms (default 1000). */
    LIVE_POLL_INTERVAL_MS: livePollIntervalMs,
    /** How long a typing indicator lasts without a new `setTyping`, seconds (default 5). */
    TYPING_TTL_SECONDS: envInt(1, 60).default(5),
    /** How long a participant stays online without a new `heartbeat`, seconds (default 30). */
    PRESENCE_TTL_SECONDS: envInt(5, 600).default(30),
    /**
     * Post the agent's messages (default true): consume orchestration's task events and post what concerns a
     * conversation as the agent (README "The agent's messages"). Off, this instance leaves that to others.
     */
    AGENT_REPLIES_ENABLED: envBoolean.default(true),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const name of ['INTERNAL_TOKEN_SECRET', 'ATTACHMENT_SIGNING_SECRET', 'DATABASE_URL'] as const) {
        if (!env[name])
          ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
      }
    }
    if (env.ATTACHMENT_STORAGE === 's3') {
      for (const name of ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
        if (!env[name])
          ctx.addIssue({ code: 'custom', path: [name], message: 'required when ATTACHMENT_STORAGE=s3' });
      }
      // The S3 adapter holds a checked upload in memory for its one signed PUT.
      if (env.ATTACHMENT_MAX_BYTES > S3_MAX_BYTES) {
        ctx.addIssue({
          code: 'custom',
          path: ['ATTACHMENT_MAX_BYTES'],
          message: `at most ${S3_MAX_BYTES} with ATTACHMENT_STORAGE=s3`,
        });
      }
    }
  });

/** Chat's parsed configuration (secrets filled in). */
/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const chatEnvSchema = schema;

export type ChatConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in persisted generated secrets. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('chat', schema, env));
}

function resolveConfig(env: z.output<typeof schema>) {
  return {
    ...withDevelopmentSecrets(env, ['INTERNAL_TOKEN_SECRET', 'ATTACHMENT_SIGNING_SECRET']),
    /** Local attachment storage directory. */
    attachmentsDir: join(env.DATA_DIR, 'attachments'),
  };
}
