import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { githubWebhookDelivery, sampleWebhookPayload, userPrincipal, waitFor } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECT, startGithubHarness, type GithubHarness } from './harness.js';
import { checkSuiteCompleted } from './taskEvents.js';

let h: GithubHarness;
const repository = { name: 'widgets', owner: { login: 'acme' } };

beforeAll(async () => {
  h = await startGithubHarness();
  await h.call(CONNECT, { owner: 'acme', name: 'widgets' }, userPrincipal('DEVELOPER'));
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

function signed(event: string, schema: string, patch: unknown, secret = h.webhookSecret) {
  return githubWebhookDelivery({ event, schema, payload: sampleWebhookPayload(schema, patch), secret });
}

async function processed(deliveryId: string): Promise<void> {
  await waitFor(async () => {
    const row = await h.github.deps.prisma.webhookDelivery.findUnique({ where: { deliveryId } });
    return row?.processedAt != null;
  });
}

describe('POST /webhooks/github', () => {
  it('accepts a delivery signed as GitHub signs it, answers at once and turns it into events after', async () => {
    const delivery = signed('push', 'push', {
      ref: 'refs/heads/feature',
      before: 'a'.repeat(40),
      after: 'b'.repeat(40),
      repository,
    });
    const response = await h.deliver(delivery);
    expect(response.status).toBe(202);
    await processed(delivery.id);
    expect(await h.outbox('BranchPushed')).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          owner: 'acme',
          name: 'widgets',
          branch: 'feature',
          after: 'b'.repeat(40),
        }),
      }),
    ]);
  });

  it('stores a payload carrying U+0000 (which PostgreSQL jsonb refuses) without it', async () => {
    const delivery = signed('push', 'push', {
      ref: 'refs/heads/nul',
      before: 'a'.repeat(40),
      after: 'c'.repeat(40),
      repository,
      head_commit: null,
      commits: [],
      pusher: { name: 'nul\u0000byte', email: null },
    });
    expect(delivery.body.toString('utf8')).toContain('\\u0000');
    expect((await h.deliver(delivery)).status).toBe(202);
    await processed(delivery.id);
    const pushed = await h.outbox('BranchPushed');
    expect(pushed.some((e) => e.payload['branch'] === 'nul' && e.payload['pusher'] === 'nulbyte')).toBe(true);
  });

  it('ignores a replayed delivery (same id): 200, no second event', async () => {
    const delivery = signed('issues', 'issues-opened', {
      repository,
      issue: {
        number: 7,
        title: 'Bug',
        state: 'open',
        html_url: 'https://github.example/acme/widgets/issues/7',
      },
    });
    expect((await h.deliver(delivery)).status).toBe(202);
    const replay = await h.deliver(delivery);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ duplicate: delivery.id });
    await processed(delivery.id);
    expect(await h.outbox('IssueUpdated')).toHaveLength(1);
  });

  it('refuses a missing, forged or other-secret signature with 401 (generated), and records nothing', async () => {
    const genuine = signed('push', 'push', { ref: 'refs/heads/x', repository });
    const forgeries: Array<Record<string, string>> = [
      { ...genuine.headers, 'x-hub-signature-256': '' },
      { ...genuine.headers, 'x-hub-signature-256': 'sha256=' },
      { ...genuine.headers, 'x-hub-signature-256': `sha1=${'0'.repeat(40)}` },
      {
        ...genuine.headers,
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong-secret').update(genuine.body).digest('hex')}`,
      },
    ];
    const { ['x-hub-signature-256']: _omitted, ...unsigned } = genuine.headers;
    forgeries.push(unsigned);
    const signature = genuine.headers['x-hub-signature-256']!;
    for (let i = 0; i < 30; i += 1) {
      // One hex digit flipped somewhere: constant-time comparison still says no.
      const at = 7 + ((i * 13) % 64);
      const flipped = signature.slice(0, at) + (signature[at] === '0' ? '1' : '0') + signature.slice(at + 1);
      forgeries.push({
        ...genuine.headers,
        'x-hub-signature-256': flipped,
        'x-github-delivery': randomUUID(),
      });
    }
    for (const headers of forgeries) {
      const response = await h.deliver({ body: genuine.body, headers });
      expect(response.status).toBe(401);
    }
    // The genuine signature over a changed body is refused too.
    const tampered = Buffer.from(genuine.body.toString('utf8').replace('refs/heads/x', 'refs/heads/y'));
    expect((await h.deliver({ body: tampered, headers: genuine.headers })).status).toBe(401);
    expect(await h.github.deps.prisma.webhookDelivery.count({ where: { deliveryId: genuine.id } })).toBe(0);
  });

  it('refuses a 30 MB body with 413 before reading it all', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.github.subgraph.url}/webhooks/github`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-length': 30 * 1024 * 1024, 'x-github-event': 'push' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(413);
    // Streamed without a length: cut off at 25 MB.
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const streamed = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${h.github.subgraph.url}/webhooks/github`);
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST' },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => resolve(413));
      let sent = 0;
      const pump = (): void => {
        while (sent < 30) {
          sent += 1;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
      setTimeout(() => reject(new Error('no answer')), 20_000).unref();
    });
    expect(streamed).toBe(413);
  });

  it('answers 202 and ignores events it does not handle; 400 for malformed headers or JSON', async () => {
    const body = Buffer.from('{}');
    const sign = (b: Buffer) => `sha256=${createHmac('sha256', h.webhookSecret).update(b).digest('hex')}`;
    const base = { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) };
    const unknown = await h.deliver({
      body,
      headers: { ...base, 'x-github-event': 'star', 'x-github-delivery': randomUUID() },
    });
    expect(unknown.status).toBe(202);
    expect(await unknown.json()).toEqual({ ignored: 'star' });
    expect((await h.deliver({ body, headers: { ...base, 'x-github-delivery': randomUUID() } })).status).toBe(
      400,
    );
    expect(
      (
        await h.deliver({
          body,
          headers: { ...base, 'x-github-event': 'push', 'x-github-delivery': '../../etc' },
        })
      ).status,
    ).toBe(400);
    const notJson = Buffer.from('{"ref":');
    expect(
      (
        await h.deliver({
          body: notJson,
          headers: {
            ...base,
            'x-hub-signature-256': sign(notJson),
            'x-github-event': 'push',
            'x-github-delivery': randomUUID(),
          },
        })
      ).status,
    ).toBe(400);
  });

  it('a signed payload it cannot read is recorded as failed, never retried, and the next one still flows', async () => {
    const body = Buffer.from(JSON.stringify({ action: 'opened', pull_request: { number: 'x' } }));
    const id = randomUUID();
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': id,
      'x-hub-signature-256': `sha256=${createHmac('sha256', h.webhookSecret).update(body).digest('hex')}`,
    };
    expect((await h.deliver({ body, headers })).status).toBe(202);
    await waitFor(async () => {
      const row = await h.github.deps.prisma.webhookDelivery.findUnique({ where: { deliveryId: id } });
      return (row?.attempts ?? 0) >= 10 && row?.lastError !== null;
    });
  });

  it('a pull request merged on GitHub updates the stored pull request and announces PullRequestMerged', async () => {
    const pull = {
      number: 41,
      html_url: 'https://github.example/acme/widgets/pull/41',
      title: 'Fix the sum',
      state: 'closed',
      merged: true,
      merged_at: '2026-01-02T00:00:00Z',
      merge_commit_sha: 'c'.repeat(40),
      head: { ref: 'cap/task-1', sha: 'd'.repeat(40) },
      base: { ref: 'main' },
    };
    const delivery = signed('pull_request', 'pull-request-closed', {
      action: 'closed',
      number: 41,
      pull_request: pull,
      repository,
    });
    expect((await h.deliver(delivery)).status).toBe(202);
    await processed(delivery.id);
    const stored = await h.github.deps.prisma.pullRequest.findFirstOrThrow({ where: { number: 41 } });
    expect(stored.state).toBe('MERGED');
    expect(await h.outbox('PullRequestMerged')).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ number: 41, mergeCommitSha: 'c'.repeat(40) }),
      }),
    ]);
    const suite = signed(
      'check_suite',
      'check-suite-completed',
      checkSuiteCompleted({ branch: 'cap/task-1', number: 41, conclusion: 'success' }),
    );
    expect((await h.deliver(suite)).status).toBe(202);
    await processed(suite.id);
    expect(
      (await h.github.deps.prisma.pullRequest.findFirstOrThrow({ where: { number: 41 } })).checksConclusion,
    ).toBe('SUCCESS');
    expect(await h.outbox('ChecksCompleted')).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ conclusion: 'SUCCESS', pullRequestNumbers: [41] }),
      }),
    ]);
  });

  it('workflow runs become WorkflowRunCompleted with what the CI/CD subgraph needs', async () => {
    const delivery = signed('workflow_run', 'workflow-run-completed', {
      action: 'completed',
      repository,
      workflow_run: {
        id: 123,
        run_attempt: 2,
        workflow_id: 5,
        name: 'CI',
        event: 'pull_request',
        head_branch: 'cap/task-1',
        head_sha: 'e'.repeat(40),
        status: 'completed',
        conclusion: 'failure',
        html_url: 'https://github.example/acme/widgets/actions/runs/123',
        pull_requests: [],
        run_started_at: '2026-01-02T00:00:00Z',
        updated_at: '2026-01-02T00:05:00Z',
      },
    });
    expect((await h.deliver(delivery)).status).toBe(202);
    await processed(delivery.id);
    expect(await h.outbox('WorkflowRunCompleted')).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          runId: 123,
          runAttempt: 2,
          conclusion: 'FAILURE',
          workflowName: 'CI',
        }),
      }),
    ]);
  });
});
