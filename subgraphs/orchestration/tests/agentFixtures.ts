import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, userPrincipal, type ScriptStep } from '@cap/testkit';
import type { Instance } from './harness.js';
import { OUTCOME_FRAGMENTS, queryLogLines, queryTask, type Line } from './taskReads.js';

/** What the agent executor's tests share: the scripted model turns, the queries, a fixture the sandbox reaches. */
/** The key the fake server is configured with: it must appear in no log line and in no sandboxed command's environment. */
export const API_KEY = 'sk-test-orchestration-9c4e2a7f1b3d5e60';
export const MODEL = 'gpt-4o-mini';
export const alice = userPrincipal('DEVELOPER');

/** The scripted turns that fix the fixture: read, edit, dump the environment, run the tests, finish. */
export const FIX: ScriptStep[] = [
  {
    text: 'Reading the implementation.',
    toolCalls: [{ name: 'read_file', arguments: { path: 'src/sum.js' } }],
    usage: { input: 120, output: 20 },
  },
  {
    toolCalls: [
      {
        name: 'edit_file',
        arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a + b;' },
      },
    ],
  },
  { toolCalls: [{ name: 'run_command', arguments: { command: 'env' } }] },
  { toolCalls: [{ name: 'run_command', arguments: { command: 'node --test' } }] },
  {
    text: 'Fixed.',
    toolCalls: [{ name: 'finish', arguments: { summary: 'Fix sum() to add its arguments' } }],
  },
];

export const TASK = /* GraphQL */ `
  query ($id: ID!) {
    task(id: $id) {
      status
      strategy
      usage {
        tokensIn
        tokensOut
        costUsd
        models
      }
      executions {
        attempt
        status
        strategy
        executor
        model
        tokensIn
        tokensOut
        costUsd
        result {
          branch
          commitSha
          diff
          stopReason
          toolCalls
          modelCalls
          changedFiles
          diffStats {
            ...OutcomeDiffStats
          }
          error {
            ...OutcomeError
          }
        }
      }
      result {
        summary
        branch
        commitSha
        stopReason
        diffStats {
          ...OutcomeDiffStats
        }
        error {
          ...OutcomeError
        }
      }
      inputRequest {
        question
      }
    }
  }
  ${OUTCOME_FRAGMENTS}
`;

export const TASK_LOGS = /* GraphQL */ `
  subscription ($taskId: ID!) {
    taskLogs(taskId: $taskId, afterSeq: 0) {
      seq
      kind
      level
      message
      data
    }
  }
`;

export type { Line } from './taskReads.js';

export { sandboxReachableFixture } from '@cap/testkit';

/** The task `id` as alice reads it with `TASK`. */
export function readTask(instance: Instance, id: string): Promise<Record<string, any>> {
  return queryTask(instance, TASK, id, alice);
}

/** Every stored log line of the task, as alice reads them. */
export function logLines(instance: Instance, taskId: string): Promise<Line[]> {
  return queryLogLines(instance, taskId, alice);
}

/** Runs the fixture's tests on a fresh checkout of `branch` of the origin; returns node's exit code. */
export function testsPassOn(origin: string, branch: string): number | null {
  const dir = mkdtempSync(join(tmpdir(), 'cap-agent-check-'));
  try {
    git(dir, 'clone', '--quiet', '--branch', branch, origin, join(dir, 'checkout'));
    return spawnSync('node', ['--test'], { cwd: join(dir, 'checkout'), stdio: 'ignore' }).status;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
