import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LocalRepositoryAccess,
  MemoryConversationStore,
  systemClock,
  type BudgetOverrides,
  type Clock,
} from '../src/index.js';
import { type Provider, type ScriptStep } from '@cap/testkit';
import { ANTHROPIC_TEST_KEY, FIX_TURNS, OPENAI_TEST_KEY } from './support/harness.js';
import { expectSumFixed, useScriptedAgent } from './support/scriptedAgent.js';

const TASK_ID = '9b0e5a77-0000-4000-8000-000000000003';
const BRANCH = 'agent/9b0e5a77';

const startAgent = useScriptedAgent(TASK_ID);

/** A clock the script can move forward (the wall-time budget without waiting). */
function skippingClock(): Clock & { skip(ms: number): void } {
  let offset = 0;
  return { now: () => systemClock.now() + offset, sleep: systemClock.sleep, skip: (ms) => (offset += ms) };
}

describe('budgets', () => {
  const clock = skippingClock();
  const cases: Array<{
    budget: string;
    budgets: BudgetOverrides & { toolRounds?: number };
    env?: Record<string, string>;
    script: ScriptStep[];
  }> = [
    // 120 tokens per call: the third call would pass 150.
    { budget: 'tokens', budgets: { tokens: 150 }, script: [FIX_TURNS[0]!, FIX_TURNS[1]!] },
    // AGENT_PRICES makes a call cost 0.12 USD: the third would pass 0.2.
    {
      budget: 'usd',
      budgets: { usd: 0.2 },
      env: { AGENT_PRICES: JSON.stringify({ 'gpt-4o-mini': { input: 1000, output: 1000 } }) },
      script: [FIX_TURNS[0]!, FIX_TURNS[1]!],
    },
    { budget: 'toolCalls', budgets: { toolCalls: 2 }, script: [FIX_TURNS[0]!, FIX_TURNS[1]!, FIX_TURNS[2]!] },
    {
      budget: 'wallTimeMs',
      budgets: { wallTimeMs: 60_000 },
      script: [
        FIX_TURNS[0]!,
        FIX_TURNS[1]!,
        () => {
          clock.skip(120_000);
          return FIX_TURNS[2]!;
        },
      ],
    },
    {
      budget: 'toolRounds',
      budgets: {},
      env: { AGENT_BUDGETS: JSON.stringify({ ITERATIVE: { toolRounds: 2 } }) },
      script: [FIX_TURNS[0]!, FIX_TURNS[1]!],
    },
  ];

  it.each(cases)(
    '$budget exceeded → FAILED BUDGET_EXCEEDED naming it, the work kept on the branch',
    async ({ budget, budgets, env, script }) => {
      const { fixture, server, executor, context } = await startAgent({
        script,
        ...(env ? { env } : {}),
        clock,
      });
      const run = context({ task: { budgets } });

      const outcome = await executor.execute(run.ctx);

      expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'BUDGET_EXCEEDED', cause: budget } });
      if (outcome.kind !== 'failed') return;
      expect(outcome.error.message).toContain(`The ${budget} budget`);
      server.assertDone();
      expect(outcome.result?.branch).toBe(BRANCH);
      expectSumFixed(fixture, BRANCH);
      expect(outcome.result?.diffStats).toEqual({ filesChanged: 1, additions: 1, deletions: 1 });
      if (budget === 'usd') expect(run.usage.map((entry) => entry.costUsd)).toEqual([0.12, 0.12]);
    },
  );
});

describe('stuck detection', () => {
  it('nudges after three identical calls, then fails AGENT_STUCK', async () => {
    const same = FIX_TURNS[0]!;
    const { server, executor, context } = await startAgent({
      script: [
        same,
        same,
        same,
        (request) => {
          expect(JSON.stringify(request.body['messages'])).toContain('You are stuck');
          return same;
        },
      ],
    });
    const run = context();

    const outcome = await executor.execute(run.ctx);

    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'AGENT_STUCK' } });
    server.assertDone();
    expect(run.log.ofKind('TOOL_CALL')).toHaveLength(3);
  });
});

describe.each<Provider>(['openai', 'anthropic'])('ask_user round trip (%s)', (provider) => {
  it('pauses AWAITING_INPUT, then the next attempt resumes the conversation and the branch', async () => {
    const question = 'Should sum() add or multiply?';
    const store = new MemoryConversationStore();
    const { fixture, server, executor, context } = await startAgent({
      provider,
      script: [
        FIX_TURNS[0]!,
        { text: 'I need to know.', toolCalls: [{ name: 'ask_user', arguments: { question } }] },
        (request) => {
          const sent = JSON.stringify(request.body['messages']);
          // The whole earlier conversation is back, with the answer to the pending call.
          expect(sent).toContain('return a - b;');
          expect(sent).toContain(question);
          expect(sent).toContain('The task creator answered: add');
          return FIX_TURNS[1]!;
        },
        FIX_TURNS[3]!,
      ],
      store,
    });

    const first = await executor.execute(context().ctx);
    expect(first).toEqual({ kind: 'awaiting_input', question });
    expect(await store.load(TASK_ID)).not.toBeNull();
    expect(fixture.branches()).toContain(BRANCH);

    const second = await executor.execute(
      context({ attempt: 2, answers: [{ question, answer: 'add' }] }).ctx,
    );
    expect(second.kind).toBe('succeeded');
    server.assertDone();
    expectSumFixed(fixture, BRANCH);
    expect(await store.load(TASK_ID)).toBeNull();
  });
});

describe('ask_user in MULTI_AGENT', () => {
  it('the coder asks; the next attempt keeps the plan and resumes the coder with the answer', async () => {
    const question = 'Is subtraction ever intended?';
    const { fixture, server, executor, context } = await startAgent({
      provider: 'anthropic',
      script: [
        {
          toolCalls: [
            {
              name: 'submit_plan',
              arguments: { subtasks: [{ title: 'Fix sum', description: 'Make sum add.' }] },
            },
          ],
        },
        { toolCalls: [{ name: 'ask_user', arguments: { question } }] },
        (request) => {
          expect(request.body['model']).toBe('claude-haiku-4-5');
          expect(JSON.stringify(request.body['messages'])).toContain('The task creator answered: never');
          return FIX_TURNS[1]!;
        },
        FIX_TURNS[3]!,
        { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'approve' } }] },
      ],
      store: new MemoryConversationStore(),
    });

    const first = await executor.execute(context({ strategy: 'MULTI_AGENT', answers: [] }).ctx);
    expect(first).toEqual({ kind: 'awaiting_input', question });
    const second = await executor.execute(
      context({ strategy: 'MULTI_AGENT', attempt: 2, answers: [{ question, answer: 'never' }] }).ctx,
    );

    expect(second.kind).toBe('succeeded');
    // Five model calls in all: the plan was not made again.
    server.assertDone();
    expectSumFixed(fixture, BRANCH);
  });
});

describe('secrets', () => {
  it.each<Provider>(['openai', 'anthropic'])(
    'no model key or repository token reaches a command or a log line (%s)',
    async (provider) => {
      const token = 'ghp_repositoryToken0123456789abcdef';
      const key = provider === 'openai' ? OPENAI_TEST_KEY : ANTHROPIC_TEST_KEY;
      const previous = process.env['OPENAI_API_KEY'];
      process.env['OPENAI_API_KEY'] = key;
      try {
        const local = new LocalRepositoryAccess();
        // The host publishes a remote branch (it alone holds the token) from the bundle the agent hands it.
        const published: Array<{ branch: string; commit: string; bundle: string | null }> = [];
        const repositories = {
          locate: async (repository: string) => ({
            ...(await local.locate(repository)),
            publisher: {
              publish: async (request: { branch: string; commit: string; bundle: string | null }) => {
                published.push({ branch: request.branch, commit: request.commit, bundle: request.bundle });
                expect(token).toMatch(/^ghp_/);
                if (request.bundle)
                  execFileSync(
                    'git',
                    ['fetch', '--quiet', request.bundle, `+HEAD:refs/heads/${request.branch}`],
                    {
                      cwd: repository,
                      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1' },
                    },
                  );
              },
            },
          }),
        };
        const { fixture, server, executor, runner, context } = await startAgent({
          provider,
          script: [
            {
              toolCalls: [
                { name: 'run_command', arguments: { command: 'env; cat .git/config; git config --list' } },
              ],
            },
            { toolCalls: [{ name: 'read_file', arguments: { path: '../../../../etc/passwd' } }] },
            (request) => {
              expect(JSON.stringify(request.body['messages'])).toContain('leaves the repository');
              return FIX_TURNS[1]!;
            },
            FIX_TURNS[3]!,
          ],
          repositories,
        });
        const run = context();

        const outcome = await executor.execute(run.ctx);

        expect(outcome.kind).toBe('succeeded');
        server.assertDone();
        expect(run.log.secrets).toEqual(expect.arrayContaining([key]));
        expect(published).toEqual([
          { branch: BRANCH, commit: expect.any(String), bundle: expect.any(String) },
        ]);
        expectSumFixed(fixture, BRANCH);
        for (const line of run.log.lines()) {
          expect(line).not.toContain(key);
          expect(line).not.toContain(token);
        }
        for (const request of runner.requests) {
          expect(JSON.stringify(request)).not.toContain(key);
          expect(JSON.stringify(request)).not.toContain(token);
          expect(JSON.stringify(request)).not.toContain('extraHeader');
          expect(request.argv ?? []).not.toContain('push');
        }
        // The command really ran and printed its environment.
        expect(
          run.log.ofKind('TOOL_CALL').some((entry) => JSON.stringify(entry.data).includes('PATH=')),
        ).toBe(true);
      } finally {
        if (previous === undefined) delete process.env['OPENAI_API_KEY'];
        else process.env['OPENAI_API_KEY'] = previous;
      }
    },
  );
});

describe('publishing a remote branch', () => {
  it('refuses a .cap-agent replaced by a link out of the workspace: nothing there is touched, GIT_FAILED', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'cap-agent-outside-'));
    try {
      writeFileSync(join(outside, 'publish.bundle'), 'a host file the agent points at');
      const published: string[] = [];
      const local = new LocalRepositoryAccess();
      const repositories = {
        locate: async (repository: string) => ({
          ...(await local.locate(repository)),
          publisher: { publish: async (request: { branch: string }) => void published.push(request.branch) },
        }),
      };
      const { executor, context } = await startAgent({
        script: [
          FIX_TURNS[0]!,
          FIX_TURNS[1]!,
          {
            toolCalls: [
              {
                name: 'run_command',
                arguments: { command: `rm -rf .cap-agent && ln -s ${outside} .cap-agent` },
              },
            ],
          },
          FIX_TURNS[3]!,
        ],
        repositories,
      });
      const outcome = await executor.execute(context().ctx);
      expect(outcome).toMatchObject({
        kind: 'failed',
        error: { code: 'GIT_FAILED', message: expect.stringContaining('not its own') },
      });
      expect(published).toEqual([]);
      expect(readFileSync(join(outside, 'publish.bundle'), 'utf8')).toBe('a host file the agent points at');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('setup', () => {
  it('installs with network before the agent starts, logs the output, and never commits what it installed', async () => {
    const { fixture, executor, runner, context } = await startAgent({ script: FIX_TURNS });
    const setupCommand =
      'mkdir -p node_modules/dep && echo "module" > node_modules/dep/index.js && echo installed-deps';
    const run = context({ task: { setupCommand } });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    const setup = runner.requests.find((request) => request.shell === setupCommand);
    expect(setup?.network).toBe(true);
    expect(runner.requests.indexOf(setup!)).toBeLessThan(
      runner.requests.findIndex((request) => request.shell === 'node --test'),
    );
    expect(run.log.ofKind('COMMAND_OUTPUT').some((entry) => entry.message.includes('installed-deps'))).toBe(
      true,
    );
    expect(fixture.show(BRANCH, 'node_modules/dep/index.js')).toBeNull();
    expectSumFixed(fixture, BRANCH);
  });

  it('AGENT_SETUP_NETWORK=false keeps setup offline; a failing setup ends FAILED SETUP_FAILED before any model call', async () => {
    const { server, executor, runner, context } = await startAgent({
      script: [],
      env: { AGENT_SETUP_NETWORK: 'false' },
    });

    const outcome = await executor.execute(
      context({ task: { setupCommand: 'echo broken >&2; exit 4' } }).ctx,
    );

    expect(outcome).toMatchObject({
      kind: 'failed',
      error: { code: 'SETUP_FAILED', cause: expect.stringContaining('broken') },
    });
    expect(runner.requests.find((request) => request.shell?.startsWith('echo broken'))?.network).toBe(false);
    expect(server.requests).toHaveLength(0);
  });
});
