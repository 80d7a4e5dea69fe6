import { tmpdir } from 'node:os';
import {
  startSubgraph,
  type StartedSubgraph,
  type SubgraphStart,
  type SubgraphStartOptions,
} from '@cap/host';
import type { KeyValueStore, Shutdown } from '@cap/runtime';
import { baseRequestContext, serveSubgraph } from '@cap/runtime/kit';
import { openLiveBus } from '@cap/live';
import type { OrchestrationConfig } from './config.js';
import { keepChatMessagesConsumer } from './consumers/chatMessages.js';
import { keepFixRequestConsumer } from './consumers/fixRequested.js';
import { keepClassificationConsumer } from './consumers/taskClassified.js';
import { Loaders, type OrchestrationContext } from './context.js';
import { openOrchestrationDb, SCHEMA, SqlStatementCounter } from './db.js';
import type { PrismaClient } from './generated/prisma/client.js';
import type { OrchestrationDeps } from './domain/orchestrationDeps.js';
import { startCommandSandbox, type CommandSandbox } from './execution/commandSandbox.js';
import { AgentTaskExecutor } from './execution/agentTaskExecutor.js';
import { GithubRepositories } from './github/githubMirror.js';
import { PrismaConversationStore } from './execution/conversationStore.js';
import type { Executor } from './execution/executor.js';
import { ShellExecutor } from './execution/shellExecutor.js';
import { TaskLogTails } from './logs/taskLogTail.js';
import { Sweeper } from './execution/sweeper.js';
import { WorkerPool } from './execution/worker.js';
import { WorkspaceJanitor } from './execution/workspaceJanitor.js';
import { schema } from './schema/index.js';

/** What `startOrchestration` needs: shared infrastructure (its own process, or the all-in-one platform). */
export interface StartOrchestrationOptions extends SubgraphStartOptions<OrchestrationConfig> {
  /** The platform's cache; orchestration reports it in `/ready` (its live fan-out has its own Redis connections). */
  kv: KeyValueStore;
  /**
   * Executors tried before the built-in ones. The shell executor (tasks with a `command`) is appended when
   * SHELL_EXECUTOR_ENABLED, then the agent executor (tasks without one) when AGENT_EXECUTOR_ENABLED.
   */
  executors?: readonly Executor[];
}

/** A running orchestration instance. */
export interface RunningOrchestration extends Omit<StartedSubgraph<OrchestrationDeps>, 'close'> {
  /** This instance's workers; null with WORKER_CONCURRENCY=0. */
  workers: WorkerPool | null;
  /** Where this instance's workers run commands (detected at start); null with WORKER_CONCURRENCY=0. */
  commandSandbox: CommandSandbox | null;
  /**
   * The model this instance's agent executor uses; null when its workers run no agent (WORKER_CONCURRENCY=0,
   * AGENT_EXECUTOR_ENABLED=false) or no model is configured (then `agentMissing` says what to set).
   */
  agent: { provider: string; model: string } | null;
  /** Why the agent has no model (the variables to set); null when it has one or does not run here. */
  agentMissing: string | null;
  /** Removes abandoned workspaces under WORKSPACE_ROOT; null with WORKER_CONCURRENCY=0. */
  workspaceJanitor: WorkspaceJanitor | null;
  sweeper: Sweeper;
  /** Resolves once the TaskClassified consumer joined its group (it keeps retrying while Kafka is down). */
  consumerReady: Promise<void>;
  /** Resolves once the ChatMessagePosted consumer joined its group (at once with CHAT_AGENT_ENABLED=false). */
  chatConsumerReady: Promise<void>;
  /** Resolves once the cicd FixRequested consumer joined its group (it keeps retrying while Kafka is down). */
  fixRequestConsumerReady: Promise<void>;
  /** SQL statements sent through Prisma so far (N+1 tests, benchmarks). */
  statements: SqlStatementCounter;
  /**
   * Stops serving, claiming and sweeping; lets running executions finish for `graceMs` (default 10_000), hands
   * the rest back to the queue, then drains the outbox relay and closes connections.
   */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Starts the orchestration subgraph: GraphQL (HTTP and graphql-ws subscriptions), the outbox relay, the
 * TaskClassified consumer, the sweeper (lost workers, classification timeouts) and WORKER_CONCURRENCY workers.
 */
export async function startOrchestration(options: StartOrchestrationOptions): Promise<RunningOrchestration> {
  // Running executions get this long to finish when the instance stops; `close({ graceMs })` changes it.
  const grace = { ms: options.config.SHUTDOWN_GRACE_MS };
  const statements = new SqlStatementCounter();
  const running = await startSubgraph(
    {
      name: 'orchestration',
      schema: SCHEMA,
      open: async (database, dbOptions) =>
        (await openOrchestrationDb(database, { ...dbOptions, statements })).prisma,
      options,
      relayPollIntervalMs: options.config.OUTBOX_POLL_INTERVAL_MS,
    },
    (start) => startInScope(start, { statements, grace }),
  );
  const closeScope = running.close;
  let closing: Promise<void> | undefined;
  return Object.assign(running, {
    close: (closeOptions: { graceMs?: number } = {}) => {
      if (!closing) {
        grace.ms = closeOptions.graceMs ?? grace.ms;
        closing = closeScope();
      }
      return closing;
    },
  });
}

async function startInScope(
  { options, store, scope }: SubgraphStart<StartOrchestrationOptions, PrismaClient>,
  { statements, grace }: { statements: SqlStatementCounter; grace: { ms: number } },
): Promise<Omit<RunningOrchestration, 'close'>> {
  const { config, logger } = options;
  const { prisma } = store;
  const live = openLiveBus({ name: 'orchestration', config, logger, scope });
  const logTails = new TaskLogTails({ prisma, live, logger }, { maxBatch: config.TASK_LOG_BATCH_MAX });
  const deps: OrchestrationDeps = {
    prisma,
    statements,
    live,
    logger,
    events: store.events,
    settings: {
      classificationTimeoutMs: config.CLASSIFICATION_TIMEOUT_MS,
      defaultStrategy: config.DEFAULT_STRATEGY,
      maxExecutionAttempts: config.MAX_EXECUTION_ATTEMPTS,
      shellExecutorEnabled: config.SHELL_EXECUTOR_ENABLED,
      logFlushIntervalMs: config.LOG_FLUSH_INTERVAL_MS,
      logFlushMaxLines: config.LOG_FLUSH_MAX_LINES,
      logPublishBeforeCommit: config.LOG_PUBLISH_BEFORE_COMMIT,
      logLineMaxChars: config.LOG_LINE_MAX_CHARS,
      executionTransaction: {
        timeout: config.EXECUTION_TRANSACTION_TIMEOUT_MS,
        maxWait: config.EXECUTION_TRANSACTION_MAX_WAIT_MS,
      },
    },
  };

  store.startRelay();
  const consumer = keepClassificationConsumer(deps, options.bus);
  scope.add('orchestration classification consumer', () => consumer.close());
  const chatConsumer = config.CHAT_AGENT_ENABLED ? keepChatMessagesConsumer(deps, options.bus) : null;
  if (chatConsumer) scope.add('orchestration chat consumer', () => chatConsumer.close());
  const fixConsumer = keepFixRequestConsumer(deps, options.bus);
  scope.add('orchestration fix-request consumer', () => fixConsumer.close());
  store.startPurger(config.PROCESSED_EVENTS_RETENTION_MS);
  const sweeper = new Sweeper(deps, { intervalMs: config.SWEEP_INTERVAL_MS });
  sweeper.start();
  scope.add('orchestration sweeper', () => sweeper.stop());

  const execution =
    config.WORKER_CONCURRENCY > 0
      ? await startExecution(options, deps, scope, grace)
      : { workers: null, commandSandbox: null, workspaceJanitor: null, agent: null, agentMissing: null };

  const subgraph = await serveSubgraph<OrchestrationContext>({
    name: 'orchestration',
    schema,
    config,
    logger,
    scope,
    database: options.database,
    // Without Redis, work still starts and logs are read from the database by polling (ADR 0012).
    cache: options.kv,
    live,
    context: (request) => ({
      ...baseRequestContext(deps, request),
      logTails,
      loaders: new Loaders(deps),
    }),
  });

  return {
    subgraph,
    deps,
    ...execution,
    sweeper,
    consumerReady: consumer.ready,
    chatConsumerReady: chatConsumer?.ready ?? Promise.resolve(),
    fixRequestConsumerReady: fixConsumer.ready,
    statements,
  };
}

type RunningExecution = Pick<
  RunningOrchestration,
  'workers' | 'commandSandbox' | 'workspaceJanitor' | 'agent' | 'agentMissing'
>;

/** Starts the workspace janitor, the command sandbox, the executors and the worker pool (WORKER_CONCURRENCY > 0). */
async function startExecution(
  options: StartOrchestrationOptions,
  deps: OrchestrationDeps,
  scope: Shutdown,
  grace: { ms: number },
): Promise<RunningExecution> {
  const { config, logger } = options;
  const workspaceRoot = config.WORKSPACE_ROOT ?? tmpdir();
  // Workspaces of killed workers are removed before this worker adds its own, and then periodically.
  const workspaceJanitor = new WorkspaceJanitor(deps, {
    root: workspaceRoot,
    intervalMs: config.WORKSPACE_CLEANUP_INTERVAL_MS,
    leaseMs: config.LEASE_MS,
  });
  workspaceJanitor.start();
  scope.add('orchestration workspace cleanup', () => workspaceJanitor.stop());
  // Every executor runs commands (and git on workspaces) in the sandbox: detected once, here.
  const commandSandbox = await startCommandSandbox({
    mode: config.COMMAND_SANDBOX,
    workspaceRoot,
    path: config.shellBaseEnv.PATH,
    rootHostUser: { uid: config.COMMAND_SANDBOX_UID, gid: config.COMMAND_SANDBOX_GID },
    readOnlyPaths: config.COMMAND_SANDBOX_READONLY_PATHS,
    network: config.COMMAND_SANDBOX_NETWORK,
    limits: config.commandLimits,
    killGraceMs: config.SHELL_KILL_GRACE_MS,
    logger,
  });
  const executors: Executor[] = [...(options.executors ?? [])];
  // GitHub repositories: cloned and pushed on the host with tokens the github subgraph grants per call (ADR 0019).
  const github = config.GITHUB_SUBGRAPH_URL
    ? new GithubRepositories({
        baseUrl: config.GITHUB_SUBGRAPH_URL,
        internalTokenSecret: config.INTERNAL_TOKEN_SECRET,
        path: config.shellBaseEnv.PATH,
      })
    : null;
  if (config.SHELL_EXECUTOR_ENABLED) {
    executors.push(
      new ShellExecutor({ sandbox: commandSandbox, baseEnv: config.shellBaseEnv, passEnv: config.shellEnv }),
    );
  }
  let agent: RunningOrchestration['agent'] = null;
  let agentMissing: string | null = null;
  if (config.AGENT_EXECUTOR_ENABLED) {
    executors.push(
      new AgentTaskExecutor({
        config: config.agent,
        conversations: new PrismaConversationStore(deps.prisma, {
          maxBytes: config.AGENT_CONVERSATION_MAX_BYTES,
        }),
        path: config.shellBaseEnv.PATH,
        limits: config.commandLimits,
        killGraceMs: config.SHELL_KILL_GRACE_MS,
        github: github !== null,
      }),
    );
    if (config.agent.provider && config.agent.models) {
      agent = { provider: config.agent.provider.kind, model: config.agent.models.default };
      logger.info(
        { provider: config.agent.provider.kind, model: config.agent.models.default },
        'agent executor: tasks without a command run with the LLM agent',
      );
    } else {
      agentMissing = config.agent.missing;
      logger.warn(
        { missing: config.agent.missing },
        `agent executor: no model configured; tasks without a command fail with AGENT_NOT_CONFIGURED. ${config.agent.missing ?? ''}`,
      );
    }
  }
  const workers = new WorkerPool(deps, {
    concurrency: config.WORKER_CONCURRENCY,
    pollIntervalMs: config.WORKER_POLL_INTERVAL_MS,
    leaseMs: config.LEASE_MS,
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    executionTimeoutMs: config.EXECUTION_TIMEOUT_MS,
    workspaceRoot,
    path: config.shellBaseEnv.PATH,
    sandbox: commandSandbox,
    executors,
    github,
  });
  await workers.start();
  scope.add('orchestration workers', () => workers.stop(grace.ms));
  return { workers, commandSandbox, workspaceJanitor, agent, agentMissing };
}
