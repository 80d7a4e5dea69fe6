import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@cap/runtime';
import { asRouter, errorCodes } from '@cap/testkit';
import { adminPrincipal, startIdentityHarness, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
let admin: Principal & { kind: 'user' };
let developer: Principal & { kind: 'user' };
beforeAll(async () => {
  h = await startIdentityHarness();
  admin = await adminPrincipal(h);
  const created = await h.call(
    `mutation($i: CreateUserInput!) { createUser(input: $i) { id } }`,
    {
      i: {
        email: 'keys-dev@example.com',
        password: 'correct-horse-battery',
        displayName: 'Dev',
        role: 'DEVELOPER',
      },
    },
    { principal: admin },
  );
  developer = {
    kind: 'user',
    userId: created.data!['createUser'].id,
    role: 'DEVELOPER',
    scopes: ['apikeys:manage', 'tasks:write'],
  };
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const CREATE = /* GraphQL */ `
  mutation ($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        id
        prefix
        scopes
        tier
        revokedAt
      }
    }
  }
`;

async function verify(key: string): Promise<Response> {
  return fetch(`${h.identity.subgraph.url}/internal/api-keys/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await asRouter(h.secret)) },
    body: JSON.stringify({ key }),
  });
}

describe('API keys', () => {
  it('returns the secret once and stores only its prefix and hash', async () => {
    const result = await h.call(
      CREATE,
      { input: { name: 'ci', scopes: ['tasks:read', 'tasks:write'] } },
      { principal: developer },
    );
    expect(result.errors).toBeUndefined();
    const { secret, apiKey } = result.data!['createApiKey'];
    expect(secret).toMatch(new RegExp(`^cap_${apiKey.prefix}_[A-Za-z0-9_-]{43}$`));
    expect(apiKey).toMatchObject({ scopes: ['tasks:read', 'tasks:write'], tier: 'FREE', revokedAt: null });
    const rows = await h.identity.deps.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(
      `SELECT * FROM "identity"."api_keys" WHERE id = $1::uuid`,
      apiKey.id,
    );
    const secretPart = secret.split('_').slice(2).join('_');
    expect(JSON.stringify(rows)).not.toContain(secretPart);
    const listed = await h.call(`{ apiKeys { id prefix } }`, {}, { principal: developer });
    expect(JSON.stringify(listed.data)).not.toContain(secretPart);

    const verified = await verify(secret);
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({
      userId: developer.userId,
      role: 'DEVELOPER',
      tier: 'FREE',
      scopes: ['tasks:read', 'tasks:write'],
    });
  });

  it('never grants scopes above the owner, nor tiers above FREE to non-admins', async () => {
    const above = await h.call(
      CREATE,
      { input: { name: 'x', scopes: ['users:manage'] } },
      { principal: developer },
    );
    expect(errorCodes(above)).toEqual(['FORBIDDEN']);
    const unknown = await h.call(
      CREATE,
      { input: { name: 'x', scopes: ['root:all'] } },
      { principal: developer },
    );
    expect(errorCodes(unknown)).toEqual(['BAD_USER_INPUT']);
    const pro = await h.call(
      CREATE,
      { input: { name: 'x', scopes: ['tasks:read'], tier: 'PRO' } },
      { principal: developer },
    );
    expect(errorCodes(pro)).toEqual(['FORBIDDEN']);
    const adminPro = await h.call(
      CREATE,
      { input: { name: 'x', scopes: ['tasks:read'], tier: 'ENTERPRISE' } },
      { principal: admin },
    );
    expect(adminPro.data?.['createApiKey'].apiKey.tier).toBe('ENTERPRISE');
    const past = await h.call(
      CREATE,
      { input: { name: 'x', scopes: ['tasks:read'], expiresAt: '2001-01-01T00:00:00Z' } },
      { principal: developer },
    );
    expect(errorCodes(past)).toEqual(['BAD_USER_INPUT']);
  });

  it('narrows a key to its owner’s current role when the role is lowered', async () => {
    const created = await h.call(
      CREATE,
      { input: { name: 'narrow', scopes: ['tasks:read', 'tasks:write'] } },
      { principal: developer },
    );
    const secret = created.data!['createApiKey'].secret as string;
    await h.call(
      `mutation($id: ID!) { changeUserRole(userId: $id, role: VIEWER) { role } }`,
      { id: developer.userId },
      { principal: admin },
    );
    const verified = (await (await verify(secret)).json()) as { scopes: string[]; role: string };
    expect(verified).toMatchObject({ role: 'VIEWER', scopes: ['tasks:read'] });
    await h.call(
      `mutation($id: ID!) { changeUserRole(userId: $id, role: DEVELOPER) { role } }`,
      { id: developer.userId },
      { principal: admin },
    );
  });

  it('stops verifying once revoked; others cannot revoke it', async () => {
    const created = await h.call(
      CREATE,
      { input: { name: 'revoke-me', scopes: ['tasks:read'] } },
      { principal: developer },
    );
    const { secret, apiKey } = created.data!['createApiKey'];
    const stranger: Principal = {
      kind: 'user',
      userId: '00000000-0000-4000-8000-000000000009',
      role: 'DEVELOPER',
      scopes: ['apikeys:manage'],
    };
    expect(
      errorCodes(
        await h.call(
          `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
          { id: apiKey.id },
          { principal: stranger },
        ),
      ),
    ).toEqual(['NOT_FOUND']);
    const revoked = await h.call(
      `mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }`,
      { id: apiKey.id },
      { principal: developer },
    );
    expect(revoked.data!['revokeApiKey'].revokedAt).toBeTruthy();
    expect((await verify(secret)).status).toBe(404);
  });

  it('refuses keys that are malformed, tampered or unknown, and callers without the router token', async () => {
    const created = await h.call(
      CREATE,
      { input: { name: 'tamper', scopes: ['tasks:read'] } },
      { principal: developer },
    );
    const secret = created.data!['createApiKey'].secret as string;
    const tampered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const key of [tampered, 'cap_short', `${secret}x`, "cap_' OR 1=1 --", '']) {
      expect((await verify(key)).status, key).not.toBe(200);
    }
    const direct = await fetch(`${h.identity.subgraph.url}/internal/api-keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: secret }),
    });
    expect(direct.status).toBe(401);
  });

  it('refuses API keys creating API keys', async () => {
    const asKey: Principal = {
      kind: 'apiKey',
      apiKeyId: '00000000-0000-4000-8000-000000000002',
      userId: developer.userId,
      role: 'DEVELOPER',
      scopes: ['apikeys:manage'],
      tier: 'FREE',
    };
    expect(
      errorCodes(
        await h.call(CREATE, { input: { name: 'x', scopes: ['tasks:read'] } }, { principal: asKey }),
      ),
    ).toEqual(['FORBIDDEN']);
  });
});

describe('the subgraph boundary', () => {
  it('refuses GraphQL requests without a valid router token', async () => {
    const url = h.identity.subgraph.graphqlUrl;
    const body = JSON.stringify({ query: '{ me { id } }' });
    const missing = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(missing.status).toBe(401);
    expect(
      ((await missing.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions
        .code,
    ).toBe('ROUTER_TOKEN_REQUIRED');
    const forged = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(await asRouter('some-other-secret-that-is-long-enough-0000', admin)),
      },
      body,
    });
    expect(forged.status).toBe(401);
  });
});
