import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFixture, git, userPrincipal, type Fixture, type ScriptStep } from '@cap/testkit';
import { expect } from 'vitest';
import type { Instance } from './harness.js';

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
            filesChanged
            additions
            deletions
          }
          error {
            code
            message
            cause
          }
        }
      }
      result {
        summary
        branch
        commitSha
        stopReason
        diffStats {
          filesChanged
          additions
          deletions
        }
        error {
          code
          message
          cause
        }
      }
      inputRequest {
        question
      }
    }
  }
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

export type Line = { seq: number; kind: string; level: string; message: string; data: any };

/**
 * The fixture, reachable by the sandbox: a root worker's sandboxes run as COMMAND_SANDBOX_UID/GID (65534), which
 * must reach the fixture's directory and be able to write the origin it pushes to (through its group, as the
 * README says for local origins of a root worker).
 */
export function sandboxReachableFixture(): Fixture {
  const created = createFixture();
  if (process.getuid?.() === 0) {
    chmodSync(created.root, 0o711);
    git(created.origin, 'config', 'core.sharedRepository', 'group');
    execFileSync('chgrp', ['-R', '65534', created.origin]);
    execFileSync('chmod', ['-R', 'g+rwX', created.origin]);
    execFileSync('find', [created.origin, '-type', 'd', '-exec', 'chmod', 'g+s', '{}', '+']);
  }
  return created;
}

export async function readTask(instance: Instance, id: string): Promise<Record<string, any>> {
  const result = await instance.call(TASK, { id }, alice);
  expect(result.errors).toBeUndefined();
  return result.data!['task'];
}

export async function logLines(instance: Instance, taskId: string): Promise<Line[]> {
  const result = await instance.call(
    `query($id: ID!) { taskLogs(taskId: $id, first: 1000) { edges { node { seq kind level message data } } } }`,
    { id: taskId },
    alice,
  );
  expect(result.errors).toBeUndefined();
  return result.data!['taskLogs'].edges.map((edge: { node: Line }) => edge.node);
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
