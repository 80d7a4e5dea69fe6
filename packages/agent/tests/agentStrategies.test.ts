import { describe, expect, it } from 'vitest';
import { type Provider, type ScriptStep, git } from '@cap/testkit';
import { FIX_TURNS } from './support/harness.js';
import { expectSumFixed, useScriptedAgent } from './support/scriptedAgent.js';

const TASK_ID = '3f2a9c1e-0000-4000-8000-000000000001';
const BRANCH = 'agent/3f2a9c1e';

const startAgent = useScriptedAgent(TASK_ID);

/** An edit that makes sum() multiply: the tests still fail. */
const WRONG_EDIT = {
  toolCalls: [
    {
      name: 'edit_file',
      arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a * b;' },
    },
  ],
};

/** The text of every message of a recorded request, whatever the provider's format. */
function requestText(body: Record<string, unknown>): string {
  return JSON.stringify(body['messages']);
}

describe.each<Provider>(['openai', 'anthropic'])(
  'strategies turn the failing fixture green (%s)',
  (provider) => {
    it('ITERATIVE: reads, edits, runs the tests, finishes; verification passes; the branch is pushed', async () => {
      const { fixture, server, executor, runner, context } = await startAgent({
        provider,
        script: FIX_TURNS,
      });
      const run = context();

      const outcome = await executor.execute(run.ctx);

      expect(outcome.kind).toBe('succeeded');
      if (outcome.kind !== 'succeeded') return;
      server.assertDone();
      expect(outcome.result.branch).toBe(BRANCH);
      expectSumFixed(fixture, BRANCH);
      expect(fixture.show('main', 'src/sum.js')).toContain('return a - b;');
      expect(outcome.result.commitSha).toMatch(/^[0-9a-f]{40}$/);
      expect(outcome.result.diff).toContain('+  return a + b;');
      expect(outcome.result.diffStats).toEqual({ filesChanged: 1, additions: 1, deletions: 1 });
      expect(outcome.result.changedFiles).toEqual(['src/sum.js']);
      // Four model calls, each recorded as usage and logged with its cost.
      expect(run.usage).toHaveLength(4);
      expect(run.usage[0]).toMatchObject({ tokensIn: 100, tokensOut: 20 });
      expect(run.usage[0]!.costUsd).toBeGreaterThan(0);
      expect(run.log.ofKind('LLM_USAGE')).toHaveLength(4);
      expect(run.log.ofKind('TOOL_CALL').map((entry) => (entry.data as { tool: string }).tool)).toEqual([
        'read_file',
        'edit_file',
        'run_command',
        'finish',
      ]);
      expect(run.log.ofKind('MESSAGE').map((entry) => entry.message)).toContain('Fixed.');
      // The tool result went back to the model: the second request carries the file's content.
      expect(requestText(server.requests[1]!.body)).toContain('return a - b;');
      // The agent's commands ran offline; the push and the verification went through the runner too.
      const shellCommands = runner.requests.filter((request) => request.shell);
      expect(shellCommands.find((request) => request.shell === 'node --test')?.network).toBe(false);
      expect(shellCommands.some((request) => request.shell === 'npm test')).toBe(true);
      expect(runner.requests.some((request) => request.argv?.includes('push'))).toBe(true);
    });

    it('ITERATIVE: a failing verification on finish goes back to the model, which fixes its work', async () => {
      const { fixture, server, executor, context } = await startAgent({
        provider,
        script: [
          WRONG_EDIT,
          FIX_TURNS[3]!,
          (request) => {
            const sent = JSON.stringify(request.body['messages']);
            expect(sent).toContain('Verification failed');
            expect(sent).toContain('sum adds');
            return {
              toolCalls: [
                {
                  name: 'edit_file',
                  arguments: { path: 'src/sum.js', old_string: 'return a * b;', new_string: 'return a + b;' },
                },
              ],
            };
          },
          FIX_TURNS[3]!,
        ],
        env: { AGENT_GIT_AUTHOR_NAME: 'Robot Author', AGENT_GIT_AUTHOR_EMAIL: 'robot@example.test' },
      });

      const outcome = await executor.execute(context().ctx);

      expect(outcome.kind).toBe('succeeded');
      server.assertDone();
      expectSumFixed(fixture, BRANCH);
      expect(git(fixture.origin, 'log', '-1', '--format=%an <%ae>|%s', BRANCH)).toBe(
        'Robot Author <robot@example.test>|Fix sum() to add its arguments',
      );
    });

    it('SINGLE_SHOT: starts from a repository map, edits, verifies once', async () => {
      const { fixture, server, executor, context } = await startAgent({
        provider,
        script: [FIX_TURNS[1]!, FIX_TURNS[3]!],
      });
      const run = context({ strategy: 'SINGLE_SHOT' });

      const outcome = await executor.execute(run.ctx);

      expect(outcome.kind).toBe('succeeded');
      server.assertDone();
      const first = requestText(server.requests[0]!.body);
      expect(first).toContain('Repository map');
      expect(first).toContain('test/sum.test.js');
      expect(first).toContain('node --test');
      expectSumFixed(fixture, BRANCH);
      expect(run.log.entries.filter((entry) => entry.message.startsWith('Verifying'))).toHaveLength(1);
    });

    it('SINGLE_SHOT: a failing verification ends FAILED VERIFICATION_FAILED with the work kept on the branch', async () => {
      const { fixture, executor, context } = await startAgent({
        provider,
        script: [WRONG_EDIT, FIX_TURNS[3]!],
      });

      const outcome = await executor.execute(context({ strategy: 'SINGLE_SHOT' }).ctx);

      expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'VERIFICATION_FAILED' } });
      expect(fixture.show(BRANCH, 'src/sum.js')).toContain('return a * b;');
    });

    it('MULTI_AGENT: planner plans, coder codes, reviewer requests a change then approves; every entry names its role', async () => {
      const script: ScriptStep[] = [
        { toolCalls: [{ name: 'read_file', arguments: { path: 'test/sum.test.js' } }] },
        // An empty plan violates the schema: the planner is told and submits a valid one.
        { toolCalls: [{ name: 'submit_plan', arguments: { subtasks: [] } }] },
        (request) => {
          expect(JSON.stringify(request.body['messages'])).toContain('Invalid arguments for submit_plan');
          return {
            toolCalls: [
              {
                name: 'submit_plan',
                arguments: { subtasks: [{ title: 'Fix sum', description: 'Make sum add.' }] },
              },
            ],
          };
        },
        ...FIX_TURNS.slice(1),
        (request) => {
          // The reviewer sees the combined diff.
          expect(requestText(request.body)).toContain('+  return a + b;');
          return {
            toolCalls: [
              {
                name: 'submit_review',
                arguments: { verdict: 'request_changes', comments: 'Document sum().' },
              },
            ],
          };
        },
        (request) => {
          expect(requestText(request.body)).toContain('Document sum().');
          return {
            toolCalls: [
              {
                name: 'edit_file',
                arguments: {
                  path: 'src/sum.js',
                  old_string: 'export function',
                  new_string: '/** Adds. */\nexport function',
                },
              },
            ],
          };
        },
        { toolCalls: [{ name: 'finish', arguments: { summary: 'Documented sum()' } }] },
        { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'approve' } }] },
      ];
      const { fixture, server, executor, context } = await startAgent({
        provider,
        script,
        env: {
          AGENT_PLANNER_MODEL: 'planner-model',
          AGENT_CODER_MODEL: 'coder-model',
          AGENT_REVIEWER_MODEL: 'reviewer-model',
        },
      });
      const run = context({ strategy: 'MULTI_AGENT' });

      const outcome = await executor.execute(run.ctx);

      expect(outcome.kind).toBe('succeeded');
      server.assertDone();
      expect(server.requests.map((request) => request.body['model'])).toEqual([
        'planner-model',
        'planner-model',
        'planner-model',
        'coder-model',
        'coder-model',
        'coder-model',
        'reviewer-model',
        'coder-model',
        'coder-model',
        'reviewer-model',
      ]);
      const shown = fixture.show(BRANCH, 'src/sum.js')!;
      expect(shown).toContain('/** Adds. */');
      expect(shown).toContain('return a + b;');
      const roles = new Set(
        run.log.entries.map((entry) => (entry.data as { role?: string } | undefined)?.role),
      );
      expect(roles).toEqual(new Set(['executor', 'planner', 'coder', 'reviewer']));
      for (const entry of run.log.entries.filter(
        (e) => e.kind === 'TOOL_CALL' || e.kind === 'LLM_USAGE' || e.kind === 'MESSAGE',
      )) {
        expect(['planner', 'coder', 'reviewer']).toContain((entry.data as { role?: string }).role);
      }
    });
  },
);

describe('re-runs', () => {
  it('a second run of the same task updates the branch instead of creating another', async () => {
    const { fixture, server, executor, context } = await startAgent({
      script: [...FIX_TURNS, FIX_TURNS[3]!],
    });
    const first = await executor.execute(context().ctx);
    const second = await executor.execute(context().ctx);

    expect(first.kind).toBe('succeeded');
    expect(second.kind).toBe('succeeded');
    expect(fixture.branches().sort()).toEqual([BRANCH, 'main']);
    // The second run started from the pushed branch: the fix is there, nothing new to commit.
    if (first.kind === 'succeeded' && second.kind === 'succeeded')
      expect(second.result.commitSha).toBe(first.result.commitSha);
    server.assertDone();
  });
});
