import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGithub } from '../src/index.js';
import {
  addFakeRepository,
  githubWebhookDelivery,
  sampleWebhookPayload,
  startFakeGithub,
  validateWebhookPayload,
} from '../src/index.js';

const run = promisify(execFile);
let fake: FakeGithub;

beforeEach(async () => {
  fake = await startFakeGithub();
});
afterEach(async () => {
  await fake.close();
});

async function api(path: string, init: RequestInit & { token: string }): Promise<Response> {
  return fetch(`${fake.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `token ${init.token}`, 'content-type': 'application/json' },
  });
}

describe('the fake GitHub checks requests against GitHub’s OpenAPI description', () => {
  it('refuses a route GitHub does not have, at registration', () => {
    expect(() => fake.route('GET', '/repos/{owner}/{repo}/pull-requests', () => ({ status: 200 }))).toThrow(
      /no GET/,
    );
  });

  it('records a misspelt field, a wrong type and an unknown query parameter as violations', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    const token = fake.issueToken({ kind: 'pat', login: 'dev' });
    const wrongField = await api('/repos/acme/widgets/pulls', {
      token,
      method: 'POST',
      body: JSON.stringify({ titel: 'x', head: 'main', base: 'main' }),
    });
    expect(wrongField.status).toBe(500);
    const wrongType = await api('/repos/acme/widgets/pulls', {
      token,
      method: 'POST',
      body: JSON.stringify({ title: 'x', head: 'main', base: 'main', draft: 'yes' }),
    });
    expect(wrongType.status).toBe(500);
    expect((await api('/repos/acme/widgets/branches?perpage=5', { token })).status).toBe(500);
    expect(fake.violations.map((v) => v.problem).join('\n')).toMatch(/unknown field titel/);
    expect(fake.violations.map((v) => v.where)).toEqual(['body', 'body', 'query']);
  });

  it('answers with responses GitHub’s description accepts', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    const token = fake.issueToken({ kind: 'pat', login: 'dev' });
    const response = await api('/repos/acme/widgets', { token });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ full_name: 'acme/widgets', default_branch: 'main' });
    expect(fake.violations).toEqual([]);
  });

  it('checks webhook payloads it signs against GitHub’s webhook descriptions', () => {
    expect(validateWebhookPayload('push', { ref: 'refs/heads/main' }).length).toBeGreaterThan(0);
    expect(() =>
      githubWebhookDelivery({ event: 'push', schema: 'push', payload: { ref: 1 }, secret: 's' }),
    ).toThrow(/disagrees/);
    const payload = sampleWebhookPayload('pull-request-closed', {
      number: 3,
      pull_request: { merged: true },
      repository: { name: 'widgets', owner: { login: 'acme' } },
    });
    expect(validateWebhookPayload('pull-request-closed', payload)).toEqual([]);
    const delivery = githubWebhookDelivery({
      event: 'pull_request',
      schema: 'pull-request-closed',
      payload,
      secret: 's',
    });
    expect(delivery.headers['x-hub-signature-256']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe('git smart HTTP (git http-backend) behind token authentication', () => {
  it('clones and pushes with a token, and refuses without one', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    const token = fake.issueToken({ kind: 'pat', login: 'dev' });
    const dir = mkdtempSync(join(tmpdir(), 'cap-fake-clone-'));
    const env = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@localhost',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@localhost',
    };
    const url = `${fake.url}/acme/widgets.git`;
    try {
      await expect(run('git', ['clone', '--quiet', url, join(dir, 'anon')], { env })).rejects.toThrow();
      const header = `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
      const authEnv = {
        ...env,
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: header,
      };
      await run('git', ['clone', '--quiet', url, join(dir, 'work')], { env: authEnv });
      await run('git', ['checkout', '--quiet', '-b', 'feature'], { cwd: join(dir, 'work'), env });
      await run('git', ['commit', '--quiet', '--allow-empty', '-m', 'work'], { cwd: join(dir, 'work'), env });
      await run('git', ['push', '--quiet', 'origin', 'feature'], { cwd: join(dir, 'work'), env: authEnv });
      expect([...fake.branchesOf('acme', 'widgets').keys()].sort()).toEqual(['feature', 'main']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
