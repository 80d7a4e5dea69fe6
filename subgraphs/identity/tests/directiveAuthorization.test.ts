import { randomUUID } from 'node:crypto';
import { scopesForRole, type Principal } from '@cap/runtime';
import { errorCodes } from '@cap/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityHarness, type IdentityHarness } from './harness.js';

// Calls with a valid router token, as if the router had let them through: the subgraph itself enforces the
// directives declared in its schema (ADR 0007).
let h: IdentityHarness;
beforeAll(async () => {
  h = await startIdentityHarness();
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const viewer: Principal = {
  kind: 'user',
  userId: randomUUID(),
  role: 'VIEWER',
  scopes: [...scopesForRole('VIEWER')],
};
const adminKey: Principal = {
  kind: 'apiKey',
  userId: randomUUID(),
  apiKeyId: randomUUID(),
  role: 'ADMIN',
  scopes: [...scopesForRole('ADMIN')],
  tier: 'ENTERPRISE',
};

const CREATE_USER = /* GraphQL */ `
  mutation ($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`;

describe('identity enforces its schema directives', () => {
  it('refuses @requiresScopes(users:manage) to a VIEWER with FORBIDDEN naming the declaration, and creates nothing', async () => {
    const before = await h.identity.deps.prisma.user.count();
    const result = await h.call(
      CREATE_USER,
      {
        input: {
          email: 'nope@example.com',
          password: 'correct-horse-battery',
          displayName: 'Nope',
          role: 'ADMIN',
        },
      },
      { principal: viewer },
    );
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      requirement: 'Mutation.createUser',
      requiredScope: 'users:manage',
    });
    expect(await h.identity.deps.prisma.user.count()).toBe(before);
  });

  it('refuses protected fields to anonymous callers with UNAUTHENTICATED, and leaves public ones open', async () => {
    const users = await h.call(`{ users(first: 1) { edges { node { id } } } }`);
    expect(errorCodes(users)).toEqual(['UNAUTHENTICATED']);
    expect(users.errors?.[0]?.extensions?.['requirement']).toBe('Query.users');
    const keys = await h.call(`{ apiKeys { id } }`);
    expect(keys.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      requirement: 'Query.apiKeys',
    });
    // `me` and `scopes` are public: null (not an error) for anonymous callers, and the scope list.
    const open = await h.call(`{ me { id } scopes { name } }`);
    expect(open.errors).toBeUndefined();
    expect(open.data?.['me']).toBeNull();
    expect(open.data?.['scopes']).toHaveLength(9);
  });

  it('refuses createApiKey to an API key through @policy(session:interactive), even one holding apikeys:manage', async () => {
    const result = await h.call(
      `mutation { createApiKey(input: { name: "from-a-key", scopes: ["graph:read"] }) { secret } }`,
      {},
      { principal: adminKey },
    );
    expect(errorCodes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors?.[0]?.extensions).toMatchObject({
      requirement: 'Mutation.createApiKey',
      requiredPolicies: [['session:interactive']],
    });
    expect(await h.identity.deps.prisma.apiKey.count({ where: { name: 'from-a-key' } })).toBe(0);
  });
});
