import { afterEach, describe, expect, it } from 'vitest';
import {
  agentConfigFromEnv,
  createAgentExecutor,
  LocalRepositoryAccess,
  MemoryConversationStore,
} from '../src/index.js';
import {
  ChildProcessRunner,
  FakeModelServer,
  type Provider,
  createFixture,
  type Fixture,
} from '@cap/testkit';
import { FIX_TURNS, makeContext, makeExecutor, testConfig } from './support/harness.js';

const TASK_ID = '7c41d2e0-0000-4000-8000-000000000002';

let fixture: Fixture | null = null;
let server: FakeModelServer | null = null;
afterEach(async () => {
  await server?.close();
  fixture?.remove();
  server = null;
  fixture = null;
});

describe.each<Provider>(['openai', 'anthropic'])('model provider failures (%s)', (provider) => {
  it('answers malformed tool-call JSON with an error the model then corrects', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [
      {
        toolCalls: [{ name: 'edit_file', arguments: '{"path": "src/sum.js", "old_string": "return a - b;"' }],
      },
      (request) => {
        expect(JSON.stringify(request.body['messages'])).toContain('not valid JSON');
        return {
          toolCalls: [{ name: 'edit_file', arguments: { path: 'src/sum.js', old_string: 'return a - b;' } }],
        };
      },
      (request) => {
        expect(JSON.stringify(request.body['messages'])).toContain('new_string');
        return FIX_TURNS[1]!;
      },
      FIX_TURNS[3]!,
    ]);
    const { executor } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    server.assertDone();
    const errors = run.log
      .ofKind('TOOL_CALL')
      .filter((entry) => (entry.data as { isError: boolean }).isError);
    expect(errors).toHaveLength(2);
  });

  it('waits out a 429 with Retry-After, then succeeds', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [
      { status: 429, headers: { 'retry-after': '1' }, message: 'slow down' },
      ...FIX_TURNS,
    ]);
    const { executor } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    server.assertDone();
    // The base delay is 20 ms: only Retry-After explains a wait of a second.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(
      run.log.entries.some((entry) => entry.level === 'WARN' && entry.message.includes('HTTP 429')),
    ).toBe(true);
  });

  it('ends FAILED LLM_UNAVAILABLE once 500s exhaust the retries', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [{ status: 500 }, { status: 503 }, { status: 500 }]);
    const { executor } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'LLM_UNAVAILABLE' } });
    // Exactly 1 + AGENT_MAX_RETRIES (2) requests: the SDK's own retries are off.
    expect(server.requests).toHaveLength(3);
    server.assertDone();
  });

  it('ends FAILED LLM_REJECTED at once on a 401', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [{ status: 401, message: 'invalid key' }]);
    const { executor } = makeExecutor(testConfig(server));
    const outcome = await executor.execute(
      makeContext({
        task: { id: TASK_ID, repository: fixture.origin },
        workspace: fixture.clone(),
        strategy: 'ITERATIVE',
      }).ctx,
    );
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'LLM_REJECTED' } });
    server.assertDone();
  });

  it('abandons a stalled stream and retries it', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [{ ...FIX_TURNS[0]!, stall: true }, ...FIX_TURNS]);
    const { executor } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    server.assertDone();
    expect(
      run.log.entries.some(
        (entry) => entry.level === 'WARN' && entry.message.includes('sent nothing for 800 ms'),
      ),
    ).toBe(true);
    // The fragment of the abandoned stream never became a tool call.
    expect(run.log.ofKind('TOOL_CALL')).toHaveLength(4);
  });

  it('retries a connection reset mid-stream', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [{ ...FIX_TURNS[0]!, reset: true }, ...FIX_TURNS]);
    const { executor } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    server.assertDone();
    expect(
      run.log.entries.filter(
        (entry) => entry.level === 'WARN' && entry.message.startsWith('Model call failed'),
      ),
    ).toHaveLength(1);
    expect(run.log.ofKind('TOOL_CALL')).toHaveLength(4);
  });

  it('cancel stops an in-flight stream promptly', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start(provider, [{ ...FIX_TURNS[0]!, stall: true }]);
    // A long idle timeout: only the cancel can end this stream.
    const { executor } = makeExecutor(testConfig(server, { AGENT_STREAM_IDLE_TIMEOUT_MS: '60000' }));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const pending = executor.execute(run.ctx);
    await server.stalled;
    const cancelledAt = performance.now();
    run.controller.abort(new Error('cancelled by the test'));
    const outcome = await pending;

    expect(performance.now() - cancelledAt).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'AGENT_CANCELLED' } });
    // The SDKs end an aborted stream quietly; its fragment must not run as a tool call.
    expect(run.log.ofKind('TOOL_CALL')).toHaveLength(0);
    server.assertDone();
  });
});

describe('cancel during a command', () => {
  it('kills a running command promptly', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start('openai', [
      { toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 30' } }] },
    ]);
    const { executor, runner } = makeExecutor(testConfig(server));
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });

    const pending = executor.execute(run.ctx);
    for (let i = 0; i < 200 && !runner.requests.some((request) => request.shell === 'sleep 30'); i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cancelledAt = performance.now();
    run.controller.abort(new Error('cancelled by the test'));
    const outcome = await pending;

    expect(performance.now() - cancelledAt).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'AGENT_CANCELLED' } });
  });
});

describe('cancel during git', () => {
  it('a push killed by the cancel reports AGENT_CANCELLED, not a git failure', async () => {
    fixture = createFixture();
    server = await FakeModelServer.start('openai', FIX_TURNS);
    const config = testConfig(server);
    const { runner } = makeExecutor(config);
    // A push that hangs until the signal kills it, like one to a slow remote.
    const slowPush = new ChildProcessRunner();
    const run = makeContext({
      task: { id: TASK_ID, repository: fixture.origin },
      workspace: fixture.clone(),
      strategy: 'ITERATIVE',
    });
    const executor = createAgentExecutor({
      config,
      runner: {
        run: (request) => {
          if (!request.argv?.includes('push')) return runner.run(request);
          setTimeout(() => run.controller.abort(new Error('cancelled by the test')), 100);
          return slowPush.run({ ...request, argv: undefined, shell: 'sleep 30' });
        },
      },
      repositories: new LocalRepositoryAccess(),
      conversations: new MemoryConversationStore(),
      path: process.env['PATH'] ?? '/usr/bin:/bin',
    });

    const outcome = await executor.execute(run.ctx);

    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'AGENT_CANCELLED' } });
  });
});

describe('configuration', () => {
  it('without a model every execution fails at once with AGENT_NOT_CONFIGURED naming the variables', async () => {
    fixture = createFixture();
    const { executor, runner } = makeExecutor(agentConfigFromEnv({}));
    const outcome = await executor.execute(
      makeContext({
        task: { id: TASK_ID, repository: fixture.origin },
        workspace: fixture.clone(),
        strategy: 'ITERATIVE',
      }).ctx,
    );
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'AGENT_NOT_CONFIGURED' } });
    if (outcome.kind === 'failed')
      for (const name of ['AGENT_MODEL', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'])
        expect(outcome.error.message).toContain(name);
    expect(runner.requests).toHaveLength(0);
  });

  it('claims exactly the tasks without a shell command', () => {
    const { executor } = makeExecutor(agentConfigFromEnv({}));
    const base = {
      id: 'x',
      title: 't',
      description: 'd',
      repository: null,
      type: null,
      complexity: null,
      priority: 'NORMAL',
      creatorId: 'c',
    };
    expect(executor.name).toBe('agent');
    expect(executor.canExecute({ ...base, command: null })).toBe(true);
    expect(executor.canExecute({ ...base, command: '  ' })).toBe(true);
    expect(executor.canExecute({ ...base, command: 'make' })).toBe(false);
  });
});
