import { randomUUID } from 'node:crypto';
import {
  agentConfigFromEnv,
  createAgentExecutor,
  LocalRepositoryAccess,
  MemoryConversationStore,
  type AgentConfig,
  type Clock,
  type RepositoryAccess,
  type ExecutableTask,
  type ExecutionContext,
  type ExecutionStrategy,
  type LogEntryInput,
  type Workspace,
} from '../../src/index.js';
import { ChildProcessRunner, type FakeModelServer } from '@cap/testkit';

/** A log sink that keeps every entry as written (no redaction: tests check nothing secret was written at all). */
export class RecordingLog {
  readonly entries: LogEntryInput[] = [];
  readonly secrets: string[] = [];
  log(entry: LogEntryInput): void {
    this.entries.push(entry);
  }
  registerSecret(value: string): void {
    this.secrets.push(value);
  }
  async waitForCapacity(): Promise<void> {}
  /** Every entry as one string per line, data included. */
  lines(): string[] {
    return this.entries.map(
      (entry) => `${entry.kind} ${entry.message} ${JSON.stringify(entry.data ?? null)}`,
    );
  }
  ofKind(kind: LogEntryInput['kind']): LogEntryInput[] {
    return this.entries.filter((entry) => entry.kind === kind);
  }
}

export const OPENAI_TEST_KEY = 'sk-test-openai-5f1c2d9a7b3e4f60';
export const ANTHROPIC_TEST_KEY = 'sk-ant-test-8e2b4c6d1a3f5e70';

/** Config for a fake server: fast retries and stall detection so that failure tests take moments. */
export function testConfig(server: FakeModelServer, env: Record<string, string> = {}): AgentConfig {
  return agentConfigFromEnv({
    AGENT_PROVIDER: server.provider,
    AGENT_MODEL: server.provider === 'openai' ? 'gpt-4o-mini' : 'claude-haiku-4-5',
    ...(server.provider === 'openai'
      ? { OPENAI_API_KEY: OPENAI_TEST_KEY, OPENAI_BASE_URL: server.baseUrl }
      : { ANTHROPIC_API_KEY: ANTHROPIC_TEST_KEY, ANTHROPIC_BASE_URL: server.baseUrl }),
    AGENT_RETRY_BASE_DELAY_MS: '20',
    AGENT_RETRY_MAX_DELAY_MS: '3000',
    AGENT_MAX_RETRIES: '2',
    AGENT_STREAM_IDLE_TIMEOUT_MS: '800',
    AGENT_REQUEST_TIMEOUT_MS: '10000',
    AGENT_COMMAND_TIMEOUT_MS: '60000',
    ...env,
  });
}

export interface Run {
  ctx: ExecutionContext;
  log: RecordingLog;
  usage: Array<{ model?: string; tokensIn?: number; tokensOut?: number; costUsd?: number }>;
  controller: AbortController;
}

/** A context for one execution of `task` in `workspace`. */
export function makeContext(options: {
  task: Partial<ExecutableTask> & { id: string; repository: string };
  workspace: Workspace;
  strategy: ExecutionStrategy;
  attempt?: number;
  answers?: Array<{ question: string; answer: string }>;
}): Run {
  const log = new RecordingLog();
  const usage: Run['usage'] = [];
  const controller = new AbortController();
  const ctx: ExecutionContext = {
    task: {
      title: 'Make the tests pass',
      description: 'sum() subtracts; it must add.',
      command: null,
      type: 'BUG_FIX',
      complexity: 'SIMPLE',
      priority: 'NORMAL',
      creatorId: randomUUID(),
      ...options.task,
    },
    execution: { id: randomUUID(), attempt: options.attempt ?? 1, strategy: options.strategy },
    answers: options.answers ?? [],
    workspace: options.workspace,
    log,
    usage: { record: (entry) => usage.push(entry) },
    timeoutMs: 600_000,
    signal: controller.signal,
  };
  return { ctx, log, usage, controller };
}

/** The executor wired with real ports: child-process runner, local repositories, a memory store. */
export function makeExecutor(
  config: AgentConfig,
  store = new MemoryConversationStore(),
  extra: { clock?: Clock; repositories?: RepositoryAccess } = {},
) {
  const runner = new ChildProcessRunner();
  const executor = createAgentExecutor({
    config,
    runner,
    repositories: extra.repositories ?? new LocalRepositoryAccess(),
    conversations: store,
    path: process.env['PATH'] ?? '/usr/bin:/bin',
    ...(extra.clock ? { clock: extra.clock } : {}),
  });
  return { executor, runner, store };
}

/** The scripted turns that fix the fixture: read, edit, run the tests, finish. */
export const FIX_TURNS = [
  {
    text: 'Reading the implementation.',
    toolCalls: [{ name: 'read_file', arguments: { path: 'src/sum.js' } }],
  },
  {
    toolCalls: [
      {
        name: 'edit_file',
        arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a + b;' },
      },
    ],
  },
  { toolCalls: [{ name: 'run_command', arguments: { command: 'node --test' } }] },
  {
    text: 'Fixed.',
    toolCalls: [{ name: 'finish', arguments: { summary: 'Fix sum() to add its arguments' } }],
  },
];
