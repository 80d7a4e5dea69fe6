import { FakeModelServer, collectSubscription, git, type Fixture, type ScriptStep } from '@cap/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  alice,
  API_KEY,
  FIX,
  logLines,
  MODEL,
  readTask,
  sandboxReachableFixture,
  TASK_LOGS,
  testsPassOn,
  type Line,
} from './agentFixtures.js';
import {
  createTaskVia,
  startOrchestrationHarness,
  waitFor,
  waitForStatus,
  type OrchestrationHarness,
  type Instance,
} from './harness.js';

let cluster: OrchestrationHarness;
let node: Instance | null = null;
let server: FakeModelServer | null = null;
let fixture: Fixture | null = null;

beforeAll(async () => {
  cluster = await startOrchestrationHarness({ env: { WORKER_CONCURRENCY: '1' } });
});
afterEach(async () => {
  if (node) await cluster.stop(node);
  node = null;
  await server?.close();
  server = null;
  fixture?.remove();
  fixture = null;
});
afterAll(async () => {
  await cluster?.[Symbol.asyncDispose]();
});

/** An instance whose agent talks to `fake` through the OpenAI wire format. */
async function agentNode(fake: FakeModelServer, env: Record<string, string> = {}): Promise<Instance> {
  return cluster.start({
    AGENT_PROVIDER: 'openai',
    AGENT_MODEL: MODEL,
    OPENAI_API_KEY: API_KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    AGENT_RETRY_BASE_DELAY_MS: '20',
    AGENT_MAX_RETRIES: '1',
    AGENT_COMMAND_TIMEOUT_MS: '60000',
    ...env,
  });
}

describe('the agent executor', { timeout: 120_000 }, () => {
  it('fixes a failing test end to end: live logs, a pushed branch whose tests pass, and what it changed and cost in the graph', async () => {
    fixture = sandboxReachableFixture();
    server = await FakeModelServer.start('openai', FIX);
    node = await agentNode(server);
    const id = await createTaskVia(node, alice, {
      title: 'Make sum add',
      description: 'The sum test fails.',
      repository: fixture.origin,
      strategy: 'ITERATIVE',
    });
    const live = collectSubscription<Line>(node.wsClient(alice), TASK_LOGS, { taskId: id }, 'taskLogs');
    // The model's steps arrive live, while the task is still running.
    await live.until(
      (events) =>
        ['TOOL_CALL', 'MESSAGE', 'LLM_USAGE'].every((kind) => events.some((event) => event.kind === kind)),
      30_000,
    );
    await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 60_000);
    live.stop();

    const task = await readTask(node, id);
    expect(task.result.error).toBeNull();
    expect(task.status).toBe('SUCCEEDED');
    server.assertDone();
    const branch = `agent/${id.replaceAll('-', '').slice(0, 8)}`;
    expect(fixture.branches()).toContain(branch);
    expect(fixture.show(branch, 'src/sum.js')).toContain('return a + b;');
    expect(testsPassOn(fixture.origin, 'main')).not.toBe(0);
    expect(testsPassOn(fixture.origin, branch)).toBe(0);

    const [execution] = task.executions;
    expect(execution).toMatchObject({
      attempt: 1,
      status: 'SUCCEEDED',
      strategy: 'ITERATIVE',
      executor: 'agent',
      model: MODEL,
    });
    expect(execution.tokensIn).toBeGreaterThanOrEqual(120);
    expect(execution.costUsd).toBeGreaterThan(0);
    expect(execution.result).toMatchObject({
      branch,
      commitSha: git(fixture.origin, 'rev-parse', branch),
      stopReason: 'finished',
      toolCalls: 5,
      changedFiles: ['src/sum.js'],
      diffStats: { filesChanged: 1, additions: 1, deletions: 1 },
    });
    expect(execution.result.modelCalls).toBeGreaterThanOrEqual(5);
    expect(execution.result.diff).toContain('+  return a + b;');
    expect(task.result).toMatchObject({ branch, stopReason: 'finished', diffStats: { filesChanged: 1 } });
    expect(task.usage).toEqual({
      tokensIn: execution.tokensIn,
      tokensOut: execution.tokensOut,
      costUsd: execution.costUsd,
      models: [MODEL],
    });

    const lines = await logLines(node, id);
    expect(lines.filter((line) => line.kind === 'TOOL_CALL').map((line) => line.data.tool)).toEqual([
      'read_file',
      'edit_file',
      'run_command',
      'run_command',
      'finish',
    ]);
    expect(
      lines.filter((line) => line.kind === 'TOOL_CALL').every((line) => line.data.role === 'agent'),
    ).toBe(true);
    expect(
      lines.some((line) => line.kind === 'MESSAGE' && line.message === 'Reading the implementation.'),
    ).toBe(true);

    // The key reached the model server and nothing else: no log line, no command's environment.
    expect(server.requests[0]!.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(JSON.stringify(lines)).not.toContain(API_KEY);
    const envDump = lines.find((line) => line.kind === 'TOOL_CALL' && line.data.arguments.includes('"env"'))!
      .data.result as string;
    expect(envDump).toContain('PATH=');
    expect(envDump).toContain(`TASK_ID=${id}`);
    expect(envDump).not.toMatch(/OPENAI|ANTHROPIC|API_KEY|DATABASE_URL|INTERNAL_TOKEN_SECRET/);
    const modelSawEnv = JSON.stringify(server.requests[3]!.body['messages']);
    expect(modelSawEnv).toContain('PATH=');
    expect(modelSawEnv).not.toContain(API_KEY);
  });

  it('fails at once with AGENT_NOT_CONFIGURED, naming the variables, when no model is configured', async () => {
    fixture = sandboxReachableFixture();
    node = await cluster.start();
    const started = Date.now();
    const id = await createTaskVia(node, alice, { title: 'No model', repository: fixture.origin });
    await waitForStatus(node, id, ['FAILED']);
    expect(Date.now() - started).toBeLessThan(10_000);
    const task = await readTask(node, id);
    expect(task.result.error.code).toBe('AGENT_NOT_CONFIGURED');
    expect(task.result.error.message).toMatch(/AGENT_MODEL/);
    expect(task.result.error.message).toMatch(/OPENAI_API_KEY/);
    expect(task.result.error.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(task.executions[0].executor).toBe('agent');
  });

  it('refuses a GitHub repository with NO_REPOSITORY on a worker without the github subgraph (GITHUB_SUBGRAPH_URL)', async () => {
    server = await FakeModelServer.start('openai', []);
    node = await agentNode(server);
    const id = await createTaskVia(node, alice, { title: 'Remote', repository: 'acme/widgets' });
    await waitForStatus(node, id, ['FAILED']);
    const task = await readTask(node, id);
    expect(task.result.error.code).toBe('NO_REPOSITORY');
    expect(task.result.error.message).toMatch(/GITHUB_SUBGRAPH_URL/);
    server.assertDone();
  });

  // Not a timing test: the stream would wait 60 s for its idle timeout, so an end well before that is the cancel's.
  it('stops on cancel during a stalled model stream, long before the stream’s idle timeout', async () => {
    fixture = sandboxReachableFixture();
    server = await FakeModelServer.start('openai', [{ text: 'Let me think', stall: true }]);
    node = await agentNode(server, { AGENT_STREAM_IDLE_TIMEOUT_MS: '60000' });
    const id = await createTaskVia(node, alice, { title: 'Stalls', repository: fixture.origin });
    await server.stalled;
    const cancelled = Date.now();
    const result = await node.call(`mutation($id: ID!) { cancelTask(id: $id) { status } }`, { id }, alice);
    expect(result.data).toEqual({ cancelTask: { status: 'CANCELLED' } });
    const { prisma } = node.orchestration.deps;
    const execution = await waitFor(
      async () => {
        const row = await prisma.taskExecution.findFirst({ where: { taskId: id } });
        return row?.endedAt ? row : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, message: 'the execution to end' },
    );
    expect(execution.status).toBe('CANCELLED');
    expect(execution.endedAt!.getTime() - cancelled).toBeLessThan(30_000);
  });

  it('asks a question, waits in AWAITING_INPUT, and resumes the saved conversation and branch after provideTaskInput', async () => {
    fixture = sandboxReachableFixture();
    const answer = 'Yes: sum must add its two arguments.';
    server = await FakeModelServer.start('openai', [
      FIX[1]!,
      {
        toolCalls: [{ name: 'ask_user', arguments: { question: 'Should sum() add rather than subtract?' } }],
      },
      (request) => {
        // The second attempt continues the first one's conversation, with the answer appended.
        const messages = JSON.stringify(request.body['messages']);
        expect(messages).toContain('Should sum() add rather than subtract?');
        expect(messages).toContain(answer);
        expect(messages).toContain('return a + b;');
        return { toolCalls: [{ name: 'finish', arguments: { summary: 'Fix sum() as confirmed' } }] };
      },
    ]);
    node = await agentNode(server);
    const id = await createTaskVia(node, alice, {
      title: 'Ask first',
      repository: fixture.origin,
      verifyCommand: 'node --test',
    });
    await waitForStatus(node, id, ['AWAITING_INPUT', 'FAILED'], 60_000);
    let task = await readTask(node, id);
    expect(task.inputRequest).toEqual({ question: 'Should sum() add rather than subtract?' });
    const { prisma } = node.orchestration.deps;
    expect(await prisma.agentConversation.count({ where: { taskId: id } })).toBe(1);
    const branch = `agent/${id.replaceAll('-', '').slice(0, 8)}`;
    // The work so far waits on the branch.
    expect(fixture.show(branch, 'src/sum.js')).toContain('return a + b;');

    const provided = await node.call(
      `mutation($input: ProvideTaskInputInput!) { provideTaskInput(input: $input) { status } }`,
      { input: { taskId: id, answer } },
      alice,
    );
    expect(provided.errors).toBeUndefined();
    await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 60_000);
    task = await readTask(node, id);
    expect(task.result.error).toBeNull();
    expect(task.status).toBe('SUCCEEDED');
    server.assertDone();
    expect(task.executions.map((execution: { status: string }) => execution.status)).toEqual([
      'AWAITING_INPUT',
      'SUCCEEDED',
    ]);
    expect(await prisma.agentConversation.count({ where: { taskId: id } })).toBe(0);
    expect(testsPassOn(fixture.origin, branch)).toBe(0);
  });

  const strategyScripts: Record<'SINGLE_SHOT' | 'ITERATIVE' | 'MULTI_AGENT', ScriptStep[]> = {
    SINGLE_SHOT: [FIX[1]!, FIX[4]!],
    ITERATIVE: [FIX[1]!, FIX[4]!],
    MULTI_AGENT: [
      {
        toolCalls: [
          {
            name: 'submit_plan',
            arguments: { subtasks: [{ title: 'Fix sum', description: 'Make sum add.' }] },
          },
        ],
      },
      FIX[1]!,
      FIX[4]!,
      { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'approve' } }] },
    ],
  };
  for (const strategy of ['SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT'] as const) {
    it(`runs the task's strategy ${strategy} in the agent`, async () => {
      fixture = sandboxReachableFixture();
      server = await FakeModelServer.start('openai', strategyScripts[strategy]);
      node = await agentNode(server);
      const id = await createTaskVia(node, alice, {
        title: `Strategy ${strategy}`,
        repository: fixture.origin,
        strategy,
      });
      await waitForStatus(node, id, ['SUCCEEDED', 'FAILED'], 60_000);
      const task = await readTask(node, id);
      expect(task.result.error).toBeNull();
      expect(task.executions[0]).toMatchObject({ strategy, executor: 'agent', status: 'SUCCEEDED' });
      server.assertDone();
      const lines = await logLines(node, id);
      expect(
        lines.some(
          (line) => line.kind === 'STEP' && line.message.startsWith(`Agent (${strategy}, openai ${MODEL})`),
        ),
      ).toBe(true);
      if (strategy === 'MULTI_AGENT') {
        const roles = new Set(
          lines.filter((line) => line.kind === 'TOOL_CALL').map((line) => line.data.role),
        );
        expect([...roles].sort()).toEqual(['coder', 'planner', 'reviewer']);
      }
    });
  }
});
