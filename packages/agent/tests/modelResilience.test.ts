import { describe, expect, it } from 'vitest';
import {
  agentConfigFromEnv,
  createAgentExecutor,
  LocalRepositoryAccess,
  MemoryConversationStore,
} from '../src/index.js';
import { ChildProcessRunner, type Provider, createFixture } from '@cap/testkit';
import { FIX_TURNS, makeContext, makeExecutor, testConfig } from './support/harness.js';
import { useScriptedAgent } from './support/scriptedAgent.js';

const TASK_ID = '7c41d2e0-0000-4000-8000-000000000002';

const startAgent = useScriptedAgent(TASK_ID);

describe.each<Provider>(['openai', 'anthropic'])('model provider failures (%s)', (provider) => {
  it('answers malformed tool-call JSON with an error the model then corrects', async () => {
    const { server, executor, context } = await startAgent({
      provider,
      script: [
        {
          toolCalls: [
            { name: 'edit_file', arguments: '{"path": "src/sum.js", "old_string": "return a - b;"' },
          ],
        },
        (request) => {
          expect(JSON.stringify(request.body['messages'])).toContain('not valid JSON');
          return {
            toolCalls: [
              { name: 'edit_file', arguments: { path: 'src/sum.js', old_string: 'return a - b;' } },
            ],
          };
        },
        (request) => {
          expect(JSON.stringify(request.body['messages'])).toContain('new_string');
          return FIX_TURNS[1]!;
        },
        FIX_TURNS[3]!,
      ],
    });
    const run = context();

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    server.assertDone();
    const errors = run.log
      .ofKind('TOOL_CALL')
      .filter((entry) => (entry.data as { isError: boolean }).isError);
    expect(errors).toHaveLength(2);
  });

  it('waits out a 429 with Retry-After, then succeeds', async () => {
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ status: 429, headers: { 'retry-after': '1' }, message: 'slow down' }, ...FIX_TURNS],
    });
    const run = context();

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
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ status: 500 }, { status: 503 }, { status: 500 }],
    });

    const outcome = await executor.execute(context().ctx);

    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'LLM_UNAVAILABLE' } });
    // Exactly 1 + AGENT_MAX_RETRIES (2) requests: the SDK's own retries are off.
    expect(server.requests).toHaveLength(3);
    server.assertDone();
  });

  it('ends FAILED LLM_REJECTED at once on a 401', async () => {
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ status: 401, message: 'invalid key' }],
    });
    const outcome = await executor.execute(context().ctx);
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'LLM_REJECTED' } });
    server.assertDone();
  });

  it('abandons a stalled stream and retries it', async () => {
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ ...FIX_TURNS[0]!, stall: true }, ...FIX_TURNS],
    });
    const run = context();

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
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ ...FIX_TURNS[0]!, reset: true }, ...FIX_TURNS],
    });
    const run = context();

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
    const { server, executor, context } = await startAgent({
      provider,
      script: [{ ...FIX_TURNS[0]!, stall: true }],
      // A long idle timeout: only the cancel can end this stream.
      env: { AGENT_STREAM_IDLE_TIMEOUT_MS: '60000' },
    });
    const run = context();

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
    const { executor, runner, context } = await startAgent({
      script: [{ toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 30' } }] }],
    });
    const run = context();

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
    const { server, runner, context } = await startAgent({ script: FIX_TURNS });
    // A push that hangs until the signal kills it, like one to a slow remote.
    const slowPush = new ChildProcessRunner();
    const run = context();
    const executor = createAgentExecutor({
      config: testConfig(server),
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
    const fixture = createFixture();
    try {
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
    } finally {
      fixture.remove();
    }
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
