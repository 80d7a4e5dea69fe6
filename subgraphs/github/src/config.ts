import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '@cap/messaging';
import {
  developmentSecret,
  envBoolean,
  envInt,
  livePollIntervalMs,
  parseEnv,
  processedEventsRetentionMs,
  subgraphEnvShape,
  withDevelopmentSecrets,
} from '@cap/runtime';
import { z } from 'zod';

/**
 * The github subgraph's configuration: the only place that reads the environment (docs/CONVENTIONS.md §11). In
 * development the internal token secret, the credential encryption key and the webhook secret are generated once
 * and kept under DATA_DIR; in production each must be set. GitHub credentials have no default anywhere: without
 * any of GITHUB_TOKEN, GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or a user's OAuth token, connecting a repository
 * says so (GITHUB_NOT_CONFIGURED).
 */
const schema = z
  .object({
    ...subgraphEnvShape(4005),
    /** How long the TaskCompleted consumer's deduplication marks are kept, ms (purged hourly; default 7 days). */
    PROCESSED_EVENTS_RETENTION_MS: processedEventsRetentionMs(DEFAULT_PROCESSED_EVENTS_RETENTION_MS),
    /** GitHub's REST API (default https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3). */
    GITHUB_API_URL: z.string().url().default('https://api.github.com'),
    /** GitHub's web origin, for OAuth's authorize and token URLs (default https://github.com). */
    GITHUB_WEB_URL: z.string().url().default('https://github.com'),
    /** A personal access token: the simplest way for one user to connect repositories. */
    GITHUB_TOKEN: z.string().min(1).optional(),
    /** A GitHub App's id; with GITHUB_APP_PRIVATE_KEY, repositories are reached through its installations. */
    GITHUB_APP_ID: z.string().regex(/^\d+$/, 'a numeric App id').optional(),
    /** The App's private key (PEM; `\n` escapes accepted). */
    GITHUB_APP_PRIVATE_KEY: z.string().min(1).optional(),
    /** OAuth client id (a GitHub App's or an OAuth App's) for users to connect with their own account. */
    GITHUB_CLIENT_ID: z.string().min(1).optional(),
    /** OAuth client secret. */
    GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
    /** Where GitHub sends users back after authorizing: the router's `/oauth/github/callback` (public URL). */
    GITHUB_OAUTH_REDIRECT_URL: z.string().url().optional(),
    /** How long an OAuth `state` stays valid, seconds (default 600). */
    GITHUB_OAUTH_STATE_TTL_SECONDS: envInt(30, 3_600).default(600),
    /** Secret of the webhook (GitHub signs every delivery with it: `X-Hub-Signature-256`). */
    GITHUB_WEBHOOK_SECRET: z.string().min(16).optional(),
    /**
     * Credential encryption keys, `id:base64key[,id:base64key...]`, 32 bytes each; the first seals, all open
     * (rotation: README). Development generates one.
     */
    GITHUB_ENCRYPTION_KEYS: z.string().min(1).optional(),
    /** Open pull requests for tasks as drafts (default true) or ready for review. */
    GITHUB_PULL_REQUEST_DRAFT: envBoolean.default(true),
    /** Link from a pull request back to its task; `{taskId}` is replaced (default: no link). */
    TASK_URL_TEMPLATE: z.string().url().optional(),
    /** One GitHub request's time limit, ms (default 15,000). */
    GITHUB_REQUEST_TIMEOUT_MS: envInt(100, 120_000).default(15_000),
    /**
     * Milliseconds waited per second of GitHub's `Retry-After` and of the retry backoff (default 1,000: as GitHub
     * says). Lower only in tests.
     */
    GITHUB_RETRY_AFTER_BASE_MS: envInt(1, 1_000).default(1_000),
    /** How often stored webhook deliveries that failed are retried, ms (50 to 3,600,000 = an hour, default 5,000). */
    GITHUB_WEBHOOK_RETRY_INTERVAL_MS: envInt(50, 3_600_000).default(5_000),
    /**
     * How often the pull-request worker looks for due jobs, ms, and the base of its retry backoff (base × 2^n, at
     * most 5 minutes; 50 to 3,600,000 = an hour, default 5,000).
     */
    GITHUB_PULL_REQUEST_RETRY_INTERVAL_MS: envInt(50, 3_600_000).default(5_000),
    /**
     * How often each open pull request the platform opened is re-read from GitHub, ms (the safety net for lost
     * webhook deliveries; conditional requests, so an unchanged one costs no rate limit); 0 disables (default
     * 60,000).
     */
    GITHUB_PR_POLL_INTERVAL_MS: envInt(0, 86_400_000).default(60_000),
    /**
     * How long the task path's reservation of a head branch links a pull request opened from it to the task, ms
     * (default 600,000: 10 minutes; ADR 0036). The task path renews it just before `pulls.create`, so it has to
     * outlive that one request and the store after it: GITHUB_REQUEST_TIMEOUT_MS (15 s) over 4 attempts with
     * 1 + 4 + 9 s of backoff is 74 s, plus up to two 60 s waits on a secondary rate limit, about 3.3 minutes (6.5
     * with the `pulls.list` before it, when the reservation is first made). Ten minutes leaves a few more; raise it
     * with GITHUB_REQUEST_TIMEOUT_MS or GITHUB_RETRY_AFTER_BASE_MS. A reservation that lapses while its task path
     * still runs only costs an early `opened` delivery the task (the task path links it when it stores, announced
     * as `task_linked`); one that never lapsed would hand a later pull request from the branch to the task.
     */
    GITHUB_PULL_REQUEST_RESERVATION_TTL_MS: envInt(1_000, 86_400_000).default(600_000),
    /** Prefix of the Redis channels of `pullRequestUpdated` (default `cap:github:`). */
    LIVE_CHANNEL_PREFIX: z.string().default('cap:github:'),
    /** While Redis is unreachable, how often live subscribers re-read the database, ms (default 1,000). */
    LIVE_POLL_INTERVAL_MS: livePollIntervalMs,
  })
  .superRefine((env, ctx) => {
    if ((env.GITHUB_APP_ID === undefined) !== (env.GITHUB_APP_PRIVATE_KEY === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [env.GITHUB_APP_ID ? 'GITHUB_APP_PRIVATE_KEY' : 'GITHUB_APP_ID'],
        message: 'GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are set together',
      });
    if ((env.GITHUB_CLIENT_ID === undefined) !== (env.GITHUB_CLIENT_SECRET === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [env.GITHUB_CLIENT_ID ? 'GITHUB_CLIENT_SECRET' : 'GITHUB_CLIENT_ID'],
        message: 'GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set together',
      });
    if (env.NODE_ENV !== 'production') return;
    for (const name of [
      'INTERNAL_TOKEN_SECRET',
      'DATABASE_URL',
      'GITHUB_WEBHOOK_SECRET',
      'GITHUB_ENCRYPTION_KEYS',
    ] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
    }
  });

/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const githubEnvSchema = schema;

export type GithubConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in persisted generated secrets. */
export function loadGithubConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('github', schema, env));
}

function resolveConfig(env: z.output<typeof schema>) {
  return {
    ...withDevelopmentSecrets(env, ['INTERNAL_TOKEN_SECRET', 'GITHUB_WEBHOOK_SECRET']),
    GITHUB_APP_PRIVATE_KEY: env.GITHUB_APP_PRIVATE_KEY?.replace(/\\n/g, '\n'),
    GITHUB_ENCRYPTION_KEYS:
      env.GITHUB_ENCRYPTION_KEYS ?? `dev:${developmentSecret(env.DATA_DIR, 'GITHUB_ENCRYPTION_KEY')}`,
  };
}
