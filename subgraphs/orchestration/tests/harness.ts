import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBus } from '@cap/messaging';
import { MemoryEventBus } from '@cap/messaging';
import { createLogger, MemoryKeyValueStore, type Principal } from '@cap/runtime';
import {
  asRouter,
  createTestDatabase,
  graphql,
  testSecret,
  waitFor,
  type TestDatabase,
  subgraphWsClient,
} from '@cap/testkit';
import type { Client } from 'graphql-ws';
import { loadConfig, startOrchestration, type Executor, type RunningOrchestration } from '../src/index.js';

/** Where tests find Redis. */
export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Settings that keep tests fast: short polls, leases and flushes. Override per instance. */
const FAST: Record<string, string> = {
  WORKER_POLL_INTERVAL_MS: '100',
  LEASE_MS: '5000',
  HEARTBEAT_INTERVAL_MS: '300',
  SWEEP_INTERVAL_MS: '200',
  LOG_FLUSH_INTERVAL_MS: '20',
  CLASSIFICATION_TIMEOUT_MS: '0',
  SHELL_KILL_GRACE_MS: '1000',
  SHUTDOWN_GRACE_MS: '0',
};

/** One orchestration instance of a cluster. */
export interface Instance {
  orchestration: RunningOrchestration;
  /** Calls the instance as the router would, for `principal`. */
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): ReturnType<typeof graphql<T>>;
  /** A graphql-ws client connected as the router would (router token in `connection_init`). */
  wsClient(principal: Principal, options?: { retryAttempts?: number }): Client;
}

/**
 * Orchestration instances sharing one fresh PostgreSQL database, one event bus, and (with Redis) one live
 * channel prefix, like instances of one deployment. Everything is released on dispose.
 */
export interface OrchestrationHarness extends AsyncDisposable {
  db: TestDatabase;
  secret: string;
  bus: EventBus;
  workspaceRoot: string;
  /** Environment every instance gets (before its own overrides). */
  env: Record<string, string>;
  /**
   * Starts an instance; `options.bus` replaces the cluster's bus for it (e.g. a broker that is down), and
   * `options.executors` come before the shell and agent executors (the contract's plug-in point).
   */
  start(
    env?: Record<string, string>,
    options?: { bus?: EventBus; executors?: readonly Executor[] },
  ): Promise<Instance>;
  /** Stops one instance (its workers hand running executions back). */
  stop(instance: Instance): Promise<void>;
}

export async function startOrchestrationHarness(
  options: { env?: Record<string, string>; bus?: EventBus; redis?: boolean } = {},
): Promise<OrchestrationHarness> {
  const db = await createTestDatabase();
  const secret = testSecret();
  const bus = options.bus ?? new MemoryEventBus();
  const workspaceRoot = mkdtempSync(join(tmpdir(), 'cap-orch-test-'));
  // Sandboxes of a root worker run as another user, which must be able to reach its workspace (search only).
  chmodSync(workspaceRoot, 0o711);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: join(workspaceRoot, 'data'),
    DATABASE_URL: db.url,
    INTERNAL_TOKEN_SECRET: secret,
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    WORKSPACE_ROOT: workspaceRoot,
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    ...(options.redis === false ? {} : { REDIS_URL, LIVE_CHANNEL_PREFIX: `test:${randomUUID()}:` }),
    ...FAST,
    ...options.env,
  };
  const instances = new Set<Instance>();
  const clients = new Set<Client>();
  const kv = new MemoryKeyValueStore();

  const stop = async (instance: Instance): Promise<void> => {
    if (!instances.delete(instance)) return;
    await instance.orchestration.close({ graceMs: 0 });
  };

  return {
    db,
    secret,
    bus,
    workspaceRoot,
    env,
    stop,
    start: async (overrides = {}, startOptions = {}) => {
      const config = loadConfig({ ...env, ...overrides });
      const orchestration = await startOrchestration({
        config,
        database: db.database,
        kv,
        bus: startOptions.bus ?? bus,
        ...(startOptions.executors ? { executors: startOptions.executors } : {}),
        logger: createLogger({ service: 'orchestration-test', level: config.LOG_LEVEL }),
      });
      const instance: Instance = {
        orchestration,
        call: async (query, variables = {}, principal) =>
          graphql(orchestration.subgraph.graphqlUrl, query, variables, await asRouter(secret, principal)),
        wsClient: (principal, clientOptions = {}) => {
          const client = subgraphWsClient(
            orchestration.subgraph.graphqlUrl,
            secret,
            principal,
            clientOptions,
          );
          clients.add(client);
          return client;
        },
      };
      instances.add(instance);
      return instance;
    },
    [Symbol.asyncDispose]: async () => {
      await Promise.allSettled([...clients].map((client) => client.dispose()));
      await Promise.allSettled([...instances].map((instance) => stop(instance)));
      await bus.close();
      await kv.close();
      await db.drop();
      rmSync(workspaceRoot, { recursive: true, force: true });
    },
  };
}

/** Polls until a condition holds; bounded (the one helper, from `@cap/testkit`). */
export { waitFor };

export const CREATE_TASK = /* GraphQL */ `
  mutation Create($input: CreateTaskInput!) {
    createTask(input: $input) {
      id
      status
      strategy
      strategySource
      priority
      version
      creator {
        id
      }
    }
  }
`;

/** Creates a task through GraphQL and returns its id (fails the test on errors). */
export async function createTaskVia(
  instance: Instance,
  principal: Principal,
  input: Record<string, unknown>,
): Promise<string> {
  const result = await instance.call(CREATE_TASK, { input: { title: 'A task', ...input } }, principal);
  if (result.errors) throw new Error(`createTask failed: ${JSON.stringify(result.errors)}`);
  return result.data!['createTask'].id as string;
}

/** Waits until the task reaches one of `statuses` (read from the database). */
export async function waitForStatus(
  instance: Instance,
  taskId: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<string> {
  const { prisma } = instance.orchestration.deps;
  let last = '';
  return waitFor(
    async () => {
      const task = await prisma.codingTask.findUnique({ where: { id: taskId }, select: { status: true } });
      last = task?.status ?? 'missing';
      return statuses.includes(last) ? last : undefined;
    },
    { timeoutMs, message: () => `task ${taskId} to reach ${statuses.join('|')} (is ${last})` },
  );
}

/**
 * True while a process with this pid runs. A zombie (exited, not yet reaped: orphans here are re-parented to an
 * init that may reap late) does not count: it runs nothing and holds nothing but its pid.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Host pids of running processes whose command line starts with `prefix` (e.g. `sleep 30.123456`; the sandbox
 * and shell that started it merely contain it). Commands run in their own pid namespace, so the pids they print
 * (`$$`) mean nothing on the host: tests give their processes a unique argument instead.
 */
export function processesWith(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.startsWith(prefix) && processExists(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone.
    }
  }
  return pids;
}

/** A number unlikely to appear in any other process's command line, for {@link processesWith}. */
export function uniqueMarker(): string {
  return String(100_000 + Math.floor(Math.random() * 900_000));
}
