import { generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKeyRing } from '@cap/identity';
import { errorCodes, graphql } from '@cap/testkit';
import { startStack, type Stack } from './harness.js';

let stack: Stack;
let session: { accessToken: string; refreshToken: string; userId: string };
beforeAll(async () => {
  stack = await startStack({ API_KEY_CACHE_TTL_SECONDS: '1' });
  session = await stack.loginAdmin();
});
afterAll(async () => {
  await stack?.[Symbol.asyncDispose]();
});

const ME = `{ me { id role } }`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Sends `headers` and asserts the router refused them with UNAUTHENTICATED without calling any subgraph. */
async function expectRefusedAtTheRouter(headers: Record<string, string>): Promise<void> {
  const before = stack.identityGraphQLRequests();
  const result = await stack.query(ME, {}, headers);
  expect(result.status).toBe(401);
  expect(errorCodes(result)).toEqual(['UNAUTHENTICATED']);
  expect(result.headers.get('www-authenticate')).toContain('Bearer');
  expect(stack.identityGraphQLRequests()).toBe(before);
}

describe('access tokens', () => {
  it('identify the caller to subgraphs', async () => {
    const result = await stack.query(ME, {}, bearer(session.accessToken));
    expect(result.data).toEqual({ me: { id: session.userId, role: 'ADMIN' } });
    expect((await stack.query(ME)).data).toEqual({ me: null });
  });

  it('a protected field without credentials gets UNAUTHENTICATED from the subgraph', async () => {
    const result = await stack.query(`{ users(first: 1) { edges { node { id } } } }`);
    expect(errorCodes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses alg none, with no subgraph called', async () => {
    const claims = decodeJwt(session.accessToken);
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(claims))}.`;
    await expectRefusedAtTheRouter(bearer(none));
  });

  it('refuses a token signed with another key, even one claiming the real kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const claims = decodeJwt(session.accessToken);
    const { kid } = decodeProtectedHeader(session.accessToken);
    for (const header of [
      { alg: 'ES256', kid: kid! },
      { alg: 'ES256', kid: 'unknown-kid' },
      { alg: 'ES256' },
    ]) {
      const forged = await new SignJWT({ ...claims }).setProtectedHeader(header).sign(privateKey);
      await expectRefusedAtTheRouter(bearer(forged));
    }
  });

  it('refuses HS256 signed with the public JWK (algorithm confusion)', async () => {
    const jwks = (await (await fetch(`${stack.identity.subgraph.url}/.well-known/jwks.json`)).json()) as {
      keys: unknown[];
    };
    const forged = await new SignJWT({ ...decodeJwt(session.accessToken) })
      .setProtectedHeader({ alg: 'HS256', kid: decodeProtectedHeader(session.accessToken).kid! })
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    await expectRefusedAtTheRouter(bearer(forged));
  });

  it('refuses a tampered payload (role raised), a wrong audience, a wrong issuer and an expired token', async () => {
    const [header, , signature] = session.accessToken.split('.');
    const raised = base64url.encode(
      JSON.stringify({
        ...decodeJwt(session.accessToken),
        role: 'ADMIN',
        scopes: ['users:manage'],
        sub: 'someone-else',
      }),
    );
    await expectRefusedAtTheRouter(bearer(`${header}.${raised}.${signature}`));

    // A second key ring over identity's stored keys: it signs with the real active key, so the refusals below
    // are about audience, issuer and expiry, not the signature.
    const ring = (audience: string, issuer: string, ttl: number) =>
      new SigningKeyRing({
        prisma: stack.identity.deps.prisma,
        secret: stack.signingKeySecret,
        audience,
        issuer,
        accessTokenTtlSeconds: ttl,
      });
    const claims = { userId: session.userId, role: 'ADMIN', scopes: ['users:manage'], sessionId: 'x' };
    await expectRefusedAtTheRouter(
      bearer((await ring('another-service', 'cap-identity', 900).signAccessToken(claims)).token),
    );
    await expectRefusedAtTheRouter(
      bearer((await ring('cap-router', 'someone-else', 900).signAccessToken(claims)).token),
    );
    await expectRefusedAtTheRouter(
      bearer((await ring('cap-router', 'cap-identity', -120).signAccessToken(claims)).token),
    );
    // The same key ring with the right audience and issuer is accepted: the refusals above are about the claims.
    const good = await ring('cap-router', 'cap-identity', 900).signAccessToken(claims);
    expect((await stack.query(ME, {}, bearer(good.token))).data).toEqual({
      me: { id: session.userId, role: 'ADMIN' },
    });
  });

  it('refuses malformed Authorization headers and garbage tokens', async () => {
    for (const authorization of [
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer a b',
      `Bearer ${'x'.repeat(5000)}`,
      'Bearer eyJ.eyJ.sig',
    ]) {
      await expectRefusedAtTheRouter({ authorization });
    }
  });

  it('keeps verifying after a signing-key rotation (unknown kid triggers a JWKS refetch)', async () => {
    const rotated = await stack.query(
      `mutation { rotateSigningKey { keyId } }`,
      {},
      bearer(session.accessToken),
    );
    expect(rotated.errors).toBeUndefined();
    const fresh = await stack.loginAdmin();
    expect(decodeProtectedHeader(fresh.accessToken).kid).toBe(rotated.data!['rotateSigningKey'].keyId);
    expect((await stack.query(ME, {}, bearer(fresh.accessToken))).data?.['me']).toMatchObject({
      id: session.userId,
    });
    expect((await stack.query(ME, {}, bearer(session.accessToken))).data?.['me']).toMatchObject({
      id: session.userId,
    });
  });
});

describe('API keys', () => {
  it('authenticate as their owner with their scopes, and stop working within the cache TTL once revoked', async () => {
    const created = await stack.query(
      `mutation { createApiKey(input: { name: "router-test", scopes: ["graph:read", "tasks:read"] }) { secret apiKey { id } } }`,
      {},
      bearer(session.accessToken),
    );
    expect(created.errors).toBeUndefined();
    const { secret, apiKey } = created.data!['createApiKey'];
    expect((await stack.query(ME, {}, bearer(secret))).data).toEqual({
      me: { id: session.userId, role: 'ADMIN' },
    });
    expect((await stack.query(ME, {}, { 'x-api-key': secret })).data).toEqual({
      me: { id: session.userId, role: 'ADMIN' },
    });
    // The key lacks users:manage although its owner has it.
    expect(
      errorCodes(await stack.query(`{ users(first: 1) { edges { node { id } } } }`, {}, bearer(secret))),
    ).toEqual(['FORBIDDEN']);

    await stack.query(
      `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
      { id: apiKey.id },
      bearer(session.accessToken),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await expectRefusedAtTheRouter(bearer(secret));
  });

  it('refuses unknown and tampered keys without calling a GraphQL subgraph', async () => {
    await expectRefusedAtTheRouter(bearer(`cap_AAAAAAAAAAAA_${'A'.repeat(43)}`));
    await expectRefusedAtTheRouter({ 'x-api-key': "cap_' OR 1=1 --" });
  });
});

describe('the router boundary', () => {
  it('subgraphs refuse requests that bypass the router', async () => {
    const direct = await graphql(
      stack.identity.subgraph.graphqlUrl,
      `
        {
          users(first: 1) {
            edges {
              node {
                email
              }
            }
          }
        }
      `,
      {},
      bearer(session.accessToken),
    );
    expect(direct.status).toBe(401);
    expect(errorCodes(direct)).toEqual(['ROUTER_TOKEN_REQUIRED']);
  });

  it('echoes a safe request id and replaces an unsafe one', async () => {
    const safe = await stack.query(ME, {}, { 'x-request-id': 'abc-123' });
    expect(safe.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await stack.query(ME, {}, { 'x-request-id': 'bad id <script>' });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers /health and /ready with per-subgraph status and latency', async () => {
    const health = await fetch(`${stack.router.url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${stack.router.url}/ready`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as {
      status: string;
      checks: Array<{ name: string; status: string; latencyMs: number }>;
    };
    expect(report.status).toBe('ready');
    expect(report.checks.find((check) => check.name === 'subgraph:identity')).toMatchObject({ status: 'up' });
    expect(report.checks.every((check) => typeof check.latencyMs === 'number')).toBe(true);
  });

  it('refuses bodies over the cap with PAYLOAD_TOO_LARGE and invalid JSON with BAD_USER_INPUT', async () => {
    const big = await fetch(stack.router.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(3 * 1024 * 1024) } }),
    });
    expect(big.status).toBe(413);
    const broken = await fetch(stack.router.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":',
    });
    expect(broken.status).toBe(400);
    expect(
      ((await broken.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions
        .code,
    ).toBe('BAD_USER_INPUT');
  });
});
