import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@cap/runtime';
import {
  addFakeRepository,
  createTestDatabase,
  githubWebhookDelivery,
  graphql,
  sampleWebhookPayload,
  startFakeGithub,
  waitFor,
  type FakeGithub,
  type TestDatabase,
} from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startPlatform, type RunningPlatform } from '../src/index.js';

/**
 * The github subgraph in the one-process platform, as a new user meets it: a personal access token
 * (GITHUB_TOKEN), a repository connected through the router, and GitHub's webhooks posted to the router's own
 * origin (forwarded unchanged to the subgraph, which verifies the signature over the raw bytes).
 */
const LOGIN = `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }`;
const WEBHOOK_SECRET = 'router-forwarding-webhook-secret';

describe('GitHub through the router (platform)', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cap-platform-github-'));
  let fake: FakeGithub;
  let db: TestDatabase;
  let platform: RunningPlatform;
  let auth: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeGithub();
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    db = await createTestDatabase();
    const env = {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SUPERGRAPH_POLL_INTERVAL_MS: '0',
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_TOKEN: fake.issueToken({ kind: 'pat', login: 'dev' }),
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    platform = await startPlatform({
      config: loadConfig(env),
      env,
      logger: createLogger({ service: 'platform-test', level: 'silent' }),
    });
    const admin = platform.identity.bootstrappedAdmin!;
    const login = await graphql(`${platform.router.url}/graphql`, LOGIN, {
      e: admin.email,
      p: admin.password,
    });
    auth = { authorization: `Bearer ${login.data?.['login'].accessToken as string}` };
  });
  afterAll(async () => {
    await platform?.close();
    await fake?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('connects a repository through the router', async () => {
    const result = await graphql(
      `${platform.router.url}/graphql`,
      'mutation { connectRepository(owner: "acme", name: "widgets") { fullName access defaultBranch } }',
      {},
      auth,
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?.['connectRepository']).toEqual({
      fullName: 'acme/widgets',
      access: 'TOKEN',
      defaultBranch: 'main',
    });
    expect(fake.violations).toEqual([]);
  });

  it('forwards webhook deliveries byte for byte: signed accepted, replay ignored, forged and oversized refused', async () => {
    const delivery = githubWebhookDelivery({
      event: 'push',
      schema: 'push',
      secret: WEBHOOK_SECRET,
      payload: sampleWebhookPayload('push', {
        ref: 'refs/heads/main',
        repository: { name: 'widgets', owner: { login: 'acme' } },
      }),
    });
    const post = (headers: Record<string, string>, body: Buffer = delivery.body) =>
      fetch(`${platform.router.url}/webhooks/github`, { method: 'POST', headers, body });
    expect((await post(delivery.headers)).status).toBe(202);
    expect((await post(delivery.headers)).status).toBe(200);
    expect(
      (await post({ ...delivery.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })).status,
    ).toBe(401);
    await waitFor(async () => {
      const row = await platform.github.deps.prisma.webhookDelivery.findUnique({
        where: { deliveryId: delivery.id },
      });
      return row?.processedAt != null;
    });
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL('/webhooks/github', platform.router.url);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-length': 30 * 1024 * 1024 },
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
  });

  it('forwards the OAuth return: a forged state is refused', async () => {
    const response = await fetch(`${platform.router.url}/oauth/github/callback?code=x&state=forged`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'OAUTH_STATE_INVALID' } });
  });
});
