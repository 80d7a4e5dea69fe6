import { agentConfigFromEnv, agentEnvSchema } from '@cap/agent';
import {
  commaList,
  envBoolean,
  envInt,
  livePollIntervalMs,
  parseEnv,
  processedEventsRetentionMs,
  subgraphEnvShape,
  withDevelopmentSecrets,
} from '@cap/runtime';
import { z } from 'zod';
import { DEFAULT_PROCESSED_EVENTS_RETENTION_MS } from '@cap/messaging';

/** Execution strategies, as in the GraphQL schema and the event contracts. */
const strategy = z.enum(['SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT']);

const MiB = 1024 * 1024;

/** A duration or count from the environment: a non-negative integer. */
/**
 * Orchestration's configuration: the only place that reads the environment. Every option is documented with its
 * default and unit; the README's configuration table mirrors this file.
 */
const schema = z
  .object({
    ...subgraphEnvShape(4003),
    /** Prefix of the live channels on Redis, so environments can share one Redis (default `cap:orchestration:`). */
    LIVE_CHANNEL_PREFIX: z.string().default('cap:orchestration:'),
    /**
     * While Redis is unreachable, how often live subscribers (task logs, task changes) read the database instead,
     * ms (default 1000).
     */
    LIVE_POLL_INTERVAL_MS: livePollIntervalMs,
    /**
     * The github subgraph's base URL (e.g. `http://127.0.0.1:4005`; the platform sets it). With it, tasks on
     * `owner/name` are cloned on the host with short-lived tokens it grants (`POST /internal/repository-token`,
     * authenticated with INTERNAL_TOKEN_SECRET) and the agent's branch is pushed back; unset = local repositories only.
     */
    GITHUB_SUBGRAPH_URL: z.string().url().optional(),

    /** Executions this instance runs at once (default 2); 0 = serve the API only, run no worker. */
    WORKER_CONCURRENCY: envInt(0, 256).default(2),
    /** How often an idle worker looks for queued executions, ms (default 500). New work also wakes it at once. */
    WORKER_POLL_INTERVAL_MS: envInt(10, 60_000).default(500),
    /** Lease of a claimed execution, ms (default 30_000). A worker silent for this long is presumed dead. */
    LEASE_MS: envInt(500, 3_600_000).default(30_000),
    /** How often a worker renews its leases and checks for cancellation, ms (default 2_000; < LEASE_MS / 2). */
    HEARTBEAT_INTERVAL_MS: envInt(50, 600_000).default(2_000),
    /** How often expired leases and classification timeouts are swept, ms (default 1_000). */
    SWEEP_INTERVAL_MS: envInt(50, 600_000).default(1_000),
    /** Executions a task gets when its workers keep getting lost (crash, lease expiry) before it FAILs (default 3). */
    MAX_EXECUTION_ATTEMPTS: envInt(1, 100).default(3),
    /** On shutdown, how long running executions may finish before they are handed back to the queue, ms (default 10_000). */
    SHUTDOWN_GRACE_MS: envInt(0, 3_600_000).default(10_000),
    /** How long a task waits for its classification before the default strategy applies, ms (default 10_000; 0 = never wait). */
    CLASSIFICATION_TIMEOUT_MS: envInt(0, 86_400_000).default(10_000),
    /** Strategy of tasks whose classification did not arrive in time (default ITERATIVE). */
    DEFAULT_STRATEGY: strategy.default('ITERATIVE'),
    /** Default time limit of one execution, ms (default 1_800_000 = 30 minutes); tasks may set less or more. */
    EXECUTION_TIMEOUT_MS: envInt(1_000, 86_400_000).default(1_800_000),

    /**
     * Run tasks' shell commands (default true, except false when NODE_ENV=production). Commands run in the
     * command sandbox (COMMAND_SANDBOX); without a working one they are refused, not run unsandboxed.
     */
    SHELL_EXECUTOR_ENABLED: envBoolean.optional(),
    /** Names of worker environment variables passed to shell commands; their values are redacted from logs. */
    SHELL_EXECUTOR_PASS_ENV: commaList.default([]),
    /** After SIGTERM on cancel or timeout, how long a command's processes have before SIGKILL, ms (default 2_000). */
    SHELL_KILL_GRACE_MS: envInt(0, 60_000).default(2_000),
    /** Parent directory of temporary task workspaces (default: the OS temp directory). */
    WORKSPACE_ROOT: z.string().min(1).optional(),
    /** How often abandoned workspaces (of killed workers) are removed, ms (default 600_000; 0 = only at start). */
    WORKSPACE_CLEANUP_INTERVAL_MS: envInt(0, 86_400_000).default(600_000),

    /**
     * How task commands (and git on their workspaces) run: `bwrap` (default) in a bubblewrap sandbox, or `none`
     * on the host as the worker's user, with access to everything that user can reach (unsafe; warned at start
     * and in every task's log). See docs/adr/0011-command-sandbox.md.
     */
    COMMAND_SANDBOX: z.enum(['bwrap', 'none']).default('bwrap'),
    /** Give sandboxed commands the host's network (default false: no network, not even the host's loopback). */
    COMMAND_SANDBOX_NETWORK: envBoolean.default(false),
    /** Host uid and gid sandboxes run as when the worker runs as root (default 65534, `nobody`); uid 1000 inside. */
    COMMAND_SANDBOX_UID: envInt(1, 2_147_483_647).default(65534),
    COMMAND_SANDBOX_GID: envInt(1, 2_147_483_647).default(65534),
    /** Extra host paths bound read-only into sandboxes at the same place (comma-separated, e.g. `/opt/jdk`). */
    COMMAND_SANDBOX_READONLY_PATHS: commaList.default([]),
    /** CPU time of each command process, seconds (default 600). */
    COMMAND_CPU_SECONDS: envInt(1, 86_400).default(600),
    /** Address space of each command process, MiB (default 4096). */
    COMMAND_MEMORY_MB: envInt(64, 1_048_576).default(4096),
    /** Processes and threads one command may run at once (default 256); contains fork bombs. */
    COMMAND_MAX_PROCESSES: envInt(8, 65_536).default(256),
    /** Largest file a command may write, MiB (default 1024). */
    COMMAND_FILE_SIZE_MB: envInt(1, 1_048_576).default(1024),
    /** Size of a sandbox's private /tmp (and /dev/shm), memory-backed, MiB (default 512). */
    COMMAND_TMP_SIZE_MB: envInt(1, 1_048_576).default(512),
    /** stdout plus stderr of one command, bytes (default 16_777_216 = 16 MiB); beyond it the command is killed. */
    COMMAND_OUTPUT_LIMIT_BYTES: envInt(1, 1_073_741_824).default(16 * 1024 * 1024),

    /** How often the outbox relay looks for unpublished events when nothing woke it, ms (default 250). */
    OUTBOX_POLL_INTERVAL_MS: envInt(10, 3_600_000).default(250),
    /**
     * How long a consumed event's processed-mark is kept for deduplication, ms (default 604_800_000 = 7 days;
     * keep it longer than the topics' retention). Older marks are purged hourly.
     */
    PROCESSED_EVENTS_RETENTION_MS: processedEventsRetentionMs(DEFAULT_PROCESSED_EVENTS_RETENTION_MS),

    /** Task logs are written in batches: at most this long after a line, ms (default 50). */
    LOG_FLUSH_INTERVAL_MS: envInt(1, 10_000).default(50),
    /** ... or as soon as this many lines are pending (default 100). */
    LOG_FLUSH_MAX_LINES: envInt(1, 5_000).default(100),
    /**
     * Live task-log lines go to subscribers as soon as the task's writer has assigned their `seq`, before the
     * batch's transaction commits (default true; ADR 0028). `false` keeps the earlier path: publish after the
     * commit, batches every `LOG_FLUSH_INTERVAL_MS` or `LOG_FLUSH_MAX_LINES` (the benchmark's baseline).
     */
    LOG_PUBLISH_BEFORE_COMMIT: envBoolean.default(true),
    /** Longer log lines are cut, characters (default 8_192). */
    LOG_LINE_MAX_CHARS: envInt(80, 1_000_000).default(8_192),
    /**
     * Entries per event of the `taskLogBatches` subscription at most (default 500): a subscriber that fell behind
     * gets batches this large; one that keeps up gets what is ready, never waiting to fill a batch.
     */
    TASK_LOG_BATCH_MAX: envInt(1, 5_000).default(500),
    /**
     * How long a transaction on a running execution's path (claim, log batches, recording the end, release,
     * lease recovery) may run before it is rolled back and retried, ms (default 15_000; Prisma's own is 5_000,
     * which a loaded machine exceeded: the finished task was requeued).
     */
    EXECUTION_TRANSACTION_TIMEOUT_MS: envInt(100, 600_000).default(15_000),
    /**
     * How long such a transaction may wait for a pooled connection, ms (default: the database's, 2_000 on
     * PostgreSQL, 30_000 embedded).
     */
    EXECUTION_TRANSACTION_MAX_WAIT_MS: envInt(100, 600_000).optional(),

    /**
     * The agent executor (tasks without a `command`): whether workers run it (default true). Without a model
     * configured (AGENT_MODEL and a provider, below) its tasks fail at once with AGENT_NOT_CONFIGURED.
     */
    AGENT_EXECUTOR_ENABLED: envBoolean.default(true),
    /**
     * The agent in chat (default true): chat messages addressed to an agent participant create or continue its task
     * (README "The agent in chat"). Off, this instance does not consume `chat.message`.
     */
    CHAT_AGENT_ENABLED: envBoolean.default(true),
    /** Largest saved agent conversation (kept while a task waits for an answer), bytes of JSON (default 8_388_608 = 8 MiB). */
    AGENT_CONVERSATION_MAX_BYTES: envInt(1_024, 268_435_456).default(8 * MiB),
    /**
     * The agent's own variables (AGENT_PROVIDER, AGENT_MODEL, OPENAI_*, ANTHROPIC_*, AGENT_BUDGETS, ...), declared
     * with their defaults and units in `@cap/agent` (packages/agent/src/config.ts, README "Configuration").
     */
    ...agentEnvSchema.shape,
  })
  .superRefine((env, ctx) => {
    if (env.HEARTBEAT_INTERVAL_MS * 2 > env.LEASE_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['HEARTBEAT_INTERVAL_MS'],
        message: 'must be at most half of LEASE_MS',
      });
    }
    if (env.NODE_ENV !== 'production') return;
    for (const name of ['INTERNAL_TOKEN_SECRET', 'DATABASE_URL'] as const) {
      if (!env[name])
        ctx.addIssue({ code: 'custom', path: [name], message: 'required when NODE_ENV=production' });
    }
  });

/** Orchestration's parsed configuration. */
/** The schema `loadConfig` parses the environment with (for tools and the configuration-bounds test). */
export const orchestrationEnvSchema = schema;

export type OrchestrationConfig = ReturnType<typeof resolveConfig>;

/** Parses the environment once; development fills in persisted generated secrets. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  return resolveConfig(parseEnv('orchestration', schema, env), env);
}

function resolveConfig(parsed: z.output<typeof schema>, env: Record<string, string | undefined>) {
  // The values of passed-through variables are read here, once, like every other part of the environment.
  const shellEnv: Record<string, string> = {};
  for (const name of parsed.SHELL_EXECUTOR_PASS_ENV) {
    const value = env[name];
    if (value !== undefined) shellEnv[name] = value;
  }
  return {
    ...withDevelopmentSecrets(parsed, ['INTERNAL_TOKEN_SECRET']),
    /** The agent's resolved configuration (provider null = not configured, `missing` says what to set). */
    agent: agentConfigFromEnv(env),
    SHELL_EXECUTOR_ENABLED: parsed.SHELL_EXECUTOR_ENABLED ?? parsed.NODE_ENV !== 'production',
    /** The passed-through variables with their values (PATH and HOME come from the worker as well). */
    shellEnv,
    /** What every command needs to find its tools. */
    shellBaseEnv: { PATH: env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', LANG: env['LANG'] ?? 'C.UTF-8' },
    /** The command sandbox's limits, in the units `@cap/sandbox` takes. */
    commandLimits: {
      cpuSeconds: parsed.COMMAND_CPU_SECONDS,
      memoryBytes: parsed.COMMAND_MEMORY_MB * MiB,
      processes: parsed.COMMAND_MAX_PROCESSES,
      fileSizeBytes: parsed.COMMAND_FILE_SIZE_MB * MiB,
      tmpBytes: parsed.COMMAND_TMP_SIZE_MB * MiB,
      outputBytes: parsed.COMMAND_OUTPUT_LIMIT_BYTES,
    },
  };
}
