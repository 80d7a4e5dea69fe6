import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { toBusRecord, type EventBus } from '@cap/messaging';
import { FixRequested, WorkflowRunCompleted, type AnyEnvelope } from '@cap/events';
import {
  loadConfig as loadOrchestrationConfig,
  startOrchestration,
  type RunningOrchestration,
} from '@cap/orchestration';
import { createLogger, MemoryKeyValueStore, type Principal } from '@cap/runtime';
import {
  asRouter,
  createTestDatabase,
  graphql,
  installActionsRoutes,
  subgraphWsClient,
  startFakeGithub,
  testSecret,
  type FakeActions,
  type FakeGithub,
  type FakeJob,
  type FakeRun,
} from '@cap/testkit';
import { loadConfig, startCicd, type RunningCicd } from '../src/index.js';

export interface CicdHarness extends AsyncDisposable {
  cicd: RunningCicd;
  orchestration: RunningOrchestration | null;
  github: FakeGithub;
  actions: FakeActions;
  bus: EventBus;
  /** The harness database's URL (a second instance opens its own pool and Prisma client on it). */
  databaseUrl: string;
  /** Publishes events as their producers' outboxes would. */
  publish(...envelopes: AnyEnvelope[]): Promise<void>;
  /** Calls cicd as the router would. */
  call<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    principal?: Principal,
  ): ReturnType<typeof graphql<T>>;
  /** A graphql-ws client of cicd as the router would connect (disposed with the harness). */
  wsClient(principal: Principal): Client;
}

/**
 * cicd (and, with `orchestration: true`, orchestration without workers) on one fresh real PostgreSQL database,
 * on `bus`, reading GitHub Actions from a fake GitHub (runs, jobs, logs behind a redirect) with a token it issued.
 * Polling runs only when a test calls `cicd.poller.pollNow()`.
 */
export async function startCicdHarness(options: {
  bus: EventBus;
  orchestration?: boolean;
  env?: Record<string, string>;
}): Promise<CicdHarness> {
  const db = await createTestDatabase();
  const secret = testSecret();
  const github = await startFakeGithub();
  const actions = await installActionsRoutes(github);
  const token = github.issueToken({ kind: 'pat', login: 'ci-reader' });
  const logger = createLogger({ service: 'cicd-test', level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const kv = new MemoryKeyValueStore();
  const dataDir = `/tmp/cap-test-${randomUUID()}`;
  const closers: Array<() => Promise<unknown>> = [
    () => db.drop(),
    () => kv.close(),
    () => actions.close(),
    () => github.close(),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const cicd = await startCicd({
      config: loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        DATA_DIR: dataDir,
        INTERNAL_TOKEN_SECRET: secret,
        LOG_LEVEL: 'silent',
        GITHUB_API_URL: github.apiUrl,
        GITHUB_TOKEN: token,
        CI_POLL_INTERVAL_MS: '0',
        ...options.env,
      }),
      database: db.database,
      kv,
      bus: options.bus,
      logger,
    });
    closers.push(() => cicd.close());
    let orchestration: RunningOrchestration | null = null;
    if (options.orchestration) {
      orchestration = await startOrchestration({
        config: loadOrchestrationConfig({
          NODE_ENV: 'test',
          PORT: '0',
          DATA_DIR: dataDir,
          DATABASE_URL: db.url,
          INTERNAL_TOKEN_SECRET: secret,
          LOG_LEVEL: 'silent',
          WORKER_CONCURRENCY: '0',
          AGENT_EXECUTOR_ENABLED: 'false',
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        }),
        database: db.database,
        kv,
        bus: options.bus,
        logger,
      });
      const running = orchestration;
      closers.push(() => running.close());
    }
    return {
      cicd,
      orchestration,
      github,
      actions,
      bus: options.bus,
      databaseUrl: db.url,
      publish: (...envelopes) => options.bus.publish(envelopes.map((envelope) => toBusRecord(envelope))),
      wsClient: (principal) => {
        const client = subgraphWsClient(cicd.subgraph.graphqlUrl, secret, principal);
        closers.push(async () => client.dispose());
        return client;
      },
      call: async (query, variables = {}, principal) =>
        graphql(cicd.subgraph.graphqlUrl, query, variables, await asRouter(secret, principal)),
      [Symbol.asyncDispose]: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

let nextId = 1_000 + Math.floor(Math.random() * 1_000_000);
/** A fresh GitHub id (runs, jobs). */
export function githubId(): number {
  return (nextId += 1);
}

/** A tsc failure as a GitHub Actions job log prints it (timestamps, groups). */
export function tscLog(message = "Type 'string' is not assignable to type 'number'."): string {
  const at = '2026-12-06T10:00:00.0000000Z';
  return [
    `${at} ##[group]Run npx tsc --noEmit`,
    `${at} npx tsc --noEmit`,
    `${at} ##[endgroup]`,
    `${at} src/total.ts(3,7): error TS2322: ${message}`,
    `${at} ##[error]Process completed with exit code 2.`,
    '',
  ].join('\n');
}

/** A completed run with one job (failed with `log` unless `conclusion` says otherwise). */
export function fakeRun(options: {
  branch: string;
  sha: string;
  conclusion?: FakeRun['conclusion'];
  log?: FakeJob['log'];
  pullRequests?: number[];
  startedAt?: string;
}): FakeRun {
  const conclusion = options.conclusion ?? 'failure';
  const at = options.startedAt ?? new Date(Date.now() - 60_000).toISOString();
  return {
    id: githubId(),
    runAttempt: 1,
    workflowId: 7,
    name: 'CI',
    event: 'push',
    headBranch: options.branch,
    headSha: options.sha,
    status: 'completed',
    conclusion,
    pullRequests: options.pullRequests ?? [],
    startedAt: at,
    updatedAt: new Date(Date.parse(at) + 30_000).toISOString(),
    jobs: [
      {
        id: githubId(),
        name: 'typecheck',
        status: 'completed',
        conclusion: conclusion === 'success' ? 'success' : 'failure',
        steps: [
          {
            name: 'Run npx tsc --noEmit',
            number: 1,
            conclusion: conclusion === 'success' ? 'success' : 'failure',
          },
        ],
        log: options.log ?? tscLog(),
      },
    ],
  };
}

/**
 * The github subgraph's `WorkflowRunCompleted` for `run` of `owner/name`, as its webhook path publishes it (the
 * poll path knows no task ids; the event may name them).
 */
export function runCompletedEvent(
  run: FakeRun,
  repository: { id: string | null; owner: string; name: string },
  taskIds: string[] = [],
) {
  return WorkflowRunCompleted.create(
    {
      repositoryId: repository.id,
      owner: repository.owner,
      name: repository.name,
      runId: run.id,
      runAttempt: run.runAttempt,
      workflowId: run.workflowId,
      workflowName: run.name,
      event: run.event,
      headBranch: run.headBranch,
      headSha: run.headSha,
      status: 'completed',
      conclusion: run.conclusion === 'success' ? 'SUCCESS' : 'FAILURE',
      htmlUrl: `https://github.example/${repository.owner}/${repository.name}/actions/runs/${run.id}`,
      pullRequestNumbers: run.pullRequests,
      taskIds,
      startedAt: run.startedAt,
      updatedAt: run.updatedAt,
    },
    { source: 'github', aggregateId: repository.id ?? randomUUID() },
  );
}

/**
 * cicd's `FixRequested` for one tsc failure on `branch` of `repository`, with `patch` applied past the factory's
 * validation (the bytes a hostile or buggy producer could publish). Keyed by its fix unless `key` is given.
 */
export function fixRequestedEvent(
  options: { repository: string; branch: string; requestedBy: string; key?: string },
  patch: Partial<Record<keyof ReturnType<typeof FixRequested.create>['payload'], unknown>> = {},
) {
  const fixId = randomUUID();
  const envelope = FixRequested.create(
    {
      fixId,
      repository: options.repository,
      branch: options.branch,
      headSha: sha(),
      requestedBy: options.requestedBy,
      runId: 1,
      runUrl: `https://github.example/${options.repository}/actions/runs/1`,
      workflowName: 'CI',
      failures: [
        {
          tool: 'tsc',
          file: 'src/a.ts',
          line: 1,
          testName: null,
          message: 'broken',
          excerpt: 'src/a.ts(1,1): error TS1005',
          fingerprint: 'f'.repeat(32),
          job: 'build',
        },
      ],
    },
    { source: 'cicd', aggregateId: options.key ?? fixId },
  );
  return { ...envelope, payload: { ...envelope.payload, ...patch } } as typeof envelope;
}

/** A random 40-hex commit. */
export function sha(): string {
  return randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '').slice(0, 8);
}
