import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@cap/runtime';
import { FakeModelServer, git, graphql, sandboxReachableFixture, type Fixture, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningPlatform } from '../src/index.js';
import { platformTestEnv, startPlatformAsAdmin } from './support/embeddedPlatform.js';

/**
 * The agent in the one-process platform, as a new user meets it: a model connected through two variables
 * (AGENT_MODEL and OPENAI_BASE_URL, here a scripted OpenAI-compatible server on loopback), a task created through the
 * router against a local repository whose test fails, and the result read back through the router.
 */

const API_KEY = 'sk-test-platform-3a9d1c7e5b2f4a68';
const CREATE_TASK = `mutation($input: CreateTaskInput!) { createTask(input: $input) { id status } }`;
const TASK = `query($id: ID!) {
  task(id: $id) {
    status usage { tokensIn tokensOut costUsd models } verification { passed command }
    result { summary branch commitSha diff stopReason toolCalls diffStats { filesChanged additions deletions } error { code message } }
  }
}`;
const TASK_LOGS = `query($id: ID!) { taskLogs(taskId: $id, first: 500) { edges { node { seq kind message data } } } }`;

describe('the agent through the router (embedded platform)', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-agent-'));
  // Task sandboxes of a root worker run as another user, which must be able to reach WORKSPACE_ROOT (search only).
  chmodSync(dataDir, 0o711);
  let fixture: Fixture;
  let server: FakeModelServer;
  let platform: RunningPlatform;
  let url: string;
  let auth: Record<string, string>;

  beforeAll(async () => {
    // A root worker's sandboxes (uid/gid 65534) push through the origin's group, as the README describes.
    fixture = sandboxReachableFixture();
    server = await FakeModelServer.start('openai', [
      {
        text: 'Looking at sum.',
        toolCalls: [{ name: 'read_file', arguments: { path: 'src/sum.js' } }],
        usage: { input: 200, output: 30 },
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
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Fix sum() to add its arguments' } }] },
    ]);
    const env = platformTestEnv(dataDir, {
      // Connecting a model: a provider's variables and the model's name.
      OPENAI_BASE_URL: server.baseUrl,
      OPENAI_API_KEY: API_KEY,
      AGENT_MODEL: 'gpt-4.1-mini',
    });
    const logger = createLogger({
      service: 'platform-test',
      level: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    });
    ({ platform, url, auth } = await startPlatformAsAdmin(env, logger));
  }, 120_000);

  afterAll(async () => {
    await platform?.close();
    await server?.close();
    fixture?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('fixes the failing test on branch agent/<id> and shows what it changed and cost', async () => {
    expect(platform.orchestration.agent).toMatchObject({ provider: 'openai', model: 'gpt-4.1-mini' });
    const created = await graphql(
      url,
      CREATE_TASK,
      { input: { title: 'Make the tests pass', repository: fixture.origin } },
      auth,
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!['createTask'].id as string;

    const task = await waitFor(
      async () => {
        const result = await graphql(url, TASK, { id }, auth);
        expect(result.errors).toBeUndefined();
        const current = result.data!['task'];
        return ['SUCCEEDED', 'FAILED'].includes(current.status) ? current : undefined;
      },
      { message: 'the agent task to end', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(task.result.error).toBeNull();
    expect(task.status).toBe('SUCCEEDED');
    server.assertDone();
    const branch = `agent/${id.replaceAll('-', '').slice(0, 8)}`;
    expect(task.result).toMatchObject({
      summary: 'Fix sum() to add its arguments',
      branch,
      commitSha: git(fixture.origin, 'rev-parse', branch),
      stopReason: 'finished',
      toolCalls: 4,
      diffStats: { filesChanged: 1, additions: 1, deletions: 1 },
    });
    expect(task.result.diff).toContain('+  return a + b;');
    // The agent's own tests passed on its change, and the dashboard sees it on the task.
    expect(task.verification).toEqual({ passed: true, command: 'npm test' });
    // gpt-4.1-mini is in the price table: 200 input and 30 output tokens (at least) cost something.
    expect(task.usage.tokensIn).toBeGreaterThanOrEqual(200);
    expect(task.usage.costUsd).toBeGreaterThan(0);
    expect(task.usage.models).toEqual(['gpt-4.1-mini']);
    expect(fixture.show(branch, 'src/sum.js')).toContain('return a + b;');

    const logs = await graphql(url, TASK_LOGS, { id }, auth);
    expect(logs.errors).toBeUndefined();
    const nodes = logs.data!['taskLogs'].edges.map((edge: any) => edge.node);
    const kinds = new Set(nodes.map((node: any) => node.kind));
    for (const kind of ['STEP', 'TOOL_CALL', 'MESSAGE', 'LLM_USAGE', 'COMMAND_OUTPUT'])
      expect(kinds).toContain(kind);
    expect(JSON.stringify(nodes)).not.toContain(API_KEY);
  });
});
