import { randomBytes } from 'node:crypto';
import { addFakeRepository, startFakeGithub, type FakeGithub } from '@cap/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AppInstallationTokenProvider,
  createGithubClient,
  CredentialCipher,
  CredentialCipherError,
  GithubAccessError,
  SecretRedactor,
  type RateLimitNotice,
} from '../src/index.js';

let fake: FakeGithub;

beforeEach(async () => {
  fake = await startFakeGithub();
});

afterEach(async () => {
  expect(fake.violations).toEqual([]);
  await fake.close();
});

describe('GitHub App installation tokens', () => {
  it('are minted for the repository, cached, and refreshed shortly before they expire', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'widgets', installationId: 77 });
    const redactor = new SecretRedactor();
    let now = Date.now();
    const provider = new AppInstallationTokenProvider({
      appId: fake.app.id,
      privateKey: fake.app.privateKey,
      client: { baseUrl: fake.apiUrl },
      redactor,
      now: () => now,
    });
    const [first, concurrent] = await Promise.all([
      provider.tokenFor({ owner: 'acme', name: 'widgets' }),
      provider.tokenFor({ owner: 'acme', name: 'widgets' }),
    ]);
    expect(first.source).toBe('APP');
    expect(concurrent.token).toBe(first.token);
    expect(provider.minted).toBe(1);
    // Scoped to the one repository, and usable against GitHub.
    expect(fake.tokens.get(first.token)).toMatchObject({ installationId: 77, repositories: ['widgets'] });
    const client = createGithubClient({ auth: first.token, baseUrl: fake.apiUrl });
    expect((await client.rest.repos.get({ owner: 'acme', repo: 'widgets' })).data.default_branch).toBe(
      'main',
    );

    now += 50 * 60_000; // 10 minutes of validity left: still cached
    expect((await provider.tokenFor({ owner: 'acme', name: 'widgets' })).token).toBe(first.token);
    now += 6 * 60_000; // 4 minutes left: inside the 5-minute margin, a new one is minted
    const refreshed = await provider.tokenFor({ owner: 'acme', name: 'widgets' });
    expect(refreshed.token).not.toBe(first.token);
    expect(provider.minted).toBe(2);
    expect(redactor.redact(`x ${first.token} ${refreshed.token}`)).toBe('x [redacted] [redacted]');
    expect(fake.calls.filter((c) => c.route === 'GET /repos/{owner}/{repo}/installation')).toHaveLength(1);
  });

  it('says the App is not installed, naming the repository and no credential', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'private', installationId: null });
    const provider = new AppInstallationTokenProvider({
      appId: fake.app.id,
      privateKey: fake.app.privateKey,
      client: { baseUrl: fake.apiUrl, retries: 0 },
    });
    const error = await provider.tokenFor({ owner: 'acme', name: 'private' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GithubAccessError);
    expect((error as GithubAccessError).reason).toBe('NOT_INSTALLED');
    expect(String((error as Error).message)).not.toContain('BEGIN PRIVATE KEY');
  });
});

describe('the REST client', () => {
  it('waits out a 403 secondary rate limit (Retry-After) and then succeeds', async () => {
    addFakeRepository(fake, { owner: 'acme', name: 'widgets' });
    const token = fake.issueToken({ kind: 'pat', login: 'dev' });
    const notices: RateLimitNotice[] = [];
    const client = createGithubClient({
      auth: token,
      baseUrl: fake.apiUrl,
      retryAfterBaseMs: 10,
      onRateLimit: (notice) => notices.push(notice),
    });
    fake.failNext('GET /repos/{owner}/{repo}', {
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
    });
    const { data } = await client.rest.repos.get({ owner: 'acme', repo: 'widgets' });
    expect(data.full_name).toBe('acme/widgets');
    expect(notices).toEqual([
      expect.objectContaining({ kind: 'secondary', retryAfterSeconds: 1, willRetry: true }),
    ]);
    expect(fake.calls.map((c) => c.status)).toEqual([403, 200]);
  });

  it('keeps tokens out of errors: a refused request names neither the token nor its header', async () => {
    const redactor = new SecretRedactor();
    const token = `ghp_${randomBytes(18).toString('hex')}`;
    redactor.register(token);
    const client = createGithubClient({ auth: token, baseUrl: fake.apiUrl, retries: 0 });
    const error = await client.rest.repos.get({ owner: 'acme', repo: 'nothing' }).catch((e: unknown) => e);
    expect((error as { status: number }).status).toBe(401);
    const safe = redactor.redactError(error);
    expect(
      JSON.stringify({ message: safe.message, cause: String(safe.cause), keys: Object.keys(safe) }),
    ).not.toContain(token);
    expect(
      redactor.redact(`Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`),
    ).toBe('Authorization: Basic [redacted]');
  });
});

describe('credential encryption', () => {
  const key = () => randomBytes(32).toString('base64');

  it('rotates: new values under the first key, old ones still open and reseal to the new key', () => {
    const k2 = key();
    const k1 = key();
    const before = CredentialCipher.fromSpec(`k1:${k1}`);
    const old = before.seal('gho_secret', 'user-1');
    const rotated = CredentialCipher.fromSpec(`k2:${k2},k1:${k1}`);
    expect(rotated.open(old, 'user-1')).toBe('gho_secret');
    expect(rotated.needsReseal(old)).toBe(true);
    const resealed = rotated.reseal(old, 'user-1');
    expect(resealed.split('.')[1]).toBe('k2');
    expect(rotated.needsReseal(resealed)).toBe(false);
    expect(CredentialCipher.fromSpec(`k2:${k2}`).open(resealed, 'user-1')).toBe('gho_secret');
    expect(() => CredentialCipher.fromSpec(`k2:${k2}`).open(old, 'user-1')).toThrow(CredentialCipherError);
    expect(old).not.toContain('gho_secret');
  });

  it('refuses tampered values, another context and malformed input (generated)', () => {
    const ring = CredentialCipher.fromSpec(`k1:${key()}`);
    const sealed = ring.seal('token-value', 'user-1');
    expect(() => ring.open(sealed, 'user-2')).toThrow(CredentialCipherError);
    const parts = sealed.split('.');
    for (let i = 2; i < parts.length; i += 1) {
      const flipped = [...parts];
      const bytes = Buffer.from(flipped[i]!, 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      flipped[i] = bytes.toString('base64url');
      expect(() => ring.open(flipped.join('.'), 'user-1')).toThrow(CredentialCipherError);
    }
    for (let n = 0; n < 200; n += 1) {
      const junk = randomBytes(n % 60).toString(n % 2 ? 'base64url' : 'hex') + '.'.repeat(n % 6);
      expect(() => ring.open(junk)).toThrow(CredentialCipherError);
    }
    expect(() => CredentialCipher.fromSpec('k1:short')).toThrow(CredentialCipherError);
    expect(() => CredentialCipher.fromSpec('')).toThrow(CredentialCipherError);
  });
});
