import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKeyRing } from '@cap/identity';
import { ALL_SCOPES, ROLES, type Principal } from '@cap/runtime';
import { seededRandom } from '@cap/testkit';
import { Authenticator, AuthenticationError } from '../src/index.js';
import { startStack, type Stack } from './harness.js';

/**
 * Verified access tokens are remembered by their exact text (ADR 0029): over generated callers sent again and
 * again in shuffled order, each token only ever yields its own principal; a remembered token stops working when
 * it expires, and an altered copy of a remembered token is refused.
 */
let stack: Stack;
let authenticator: Authenticator;
beforeAll(async () => {
  stack = await startStack();
  authenticator = new Authenticator({
    identityUrl: stack.identity.subgraph.url,
    issuer: 'cap-identity',
    audience: 'cap-router',
    internalTokenSecret: stack.secret,
    kv: stack.kv,
    apiKeyCacheTtlSeconds: 1,
    logger: stack.logger,
  });
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

const ring = (ttlSeconds: number) =>
  new SigningKeyRing({
    prisma: stack.identity.deps.prisma,
    secret: stack.signingKeySecret,
    audience: 'cap-router',
    issuer: 'cap-identity',
    accessTokenTtlSeconds: ttlSeconds,
  });

const authenticate = (token: string): Promise<Principal> =>
  authenticator.authenticate({ authorization: `Bearer ${token}` }, 'request-id');

async function refusal(token: string): Promise<string | undefined> {
  try {
    await authenticate(token);
    return undefined;
  } catch (error) {
    return error instanceof AuthenticationError ? error.reason : String(error);
  }
}

describe('remembered access tokens', () => {
  it('give every generated caller its own principal, however often and in whatever order they come', async () => {
    const random = seededRandom(29);
    const signer = ring(900);
    const callers: Array<{ token: string; principal: Principal }> = [];
    for (let index = 0; index < 40; index += 1) {
      const role = ROLES[Math.floor(random() * ROLES.length)]!;
      const scopes = ALL_SCOPES.filter(() => random() < 0.5);
      // Pairs of callers share a user id but differ in role or scopes: only the token tells them apart.
      const userId = `user-${Math.floor(index / 2)}`;
      const { token } = await signer.signAccessToken({ userId, role, scopes, sessionId: `s${index}` });
      callers.push({ token, principal: { kind: 'user', userId, role, scopes } });
    }
    for (let round = 0; round < 5; round += 1) {
      const order = callers.map((caller) => ({ caller, key: random() })).sort((a, b) => a.key - b.key);
      const principals = await Promise.all(order.map(({ caller }) => authenticate(caller.token)));
      principals.forEach((principal, index) => expect(principal).toEqual(order[index]!.caller.principal));
      // What a caller does with its principal never reaches the next request with the same token.
      (principals[0] as unknown as { scopes: string[] }).scopes.push('users:manage');
    }
  });

  it('refuses a remembered token once it expires, and altered copies of it at any time', async () => {
    const { token } = await ring(2).signAccessToken({
      userId: 'short-lived',
      role: ROLES[0]!,
      scopes: [],
      sessionId: 'short',
    });
    expect(await refusal(token)).toBeUndefined();
    expect(await refusal(token)).toBeUndefined();
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    expect(await refusal(`${header}.${payload}.${flipped}`)).toBe('token_invalid');
    expect(await refusal(`${header}.${payload}.${signature}x`)).toBe('token_invalid');
    const deadline = Date.now() + 10_000;
    while ((await refusal(token)) === undefined && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await refusal(token)).toBe('token_expired');
  });
});
