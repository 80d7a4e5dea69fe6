import { randomBytes, randomUUID } from 'node:crypto';
import { scopesForRole, type Principal } from '@cap/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityHarness, type IdentityHarness } from './harness.js';

/**
 * N+1 guard: `users { apiKeys }` costs the same number of SQL statements for a page of 50 users as for 5, and
 * each user still gets exactly their own keys, newest first (revoked ones only when asked for).
 */
let h: IdentityHarness;
let admin: Principal;
const KEYS_PER_USER = 3;

beforeAll(async () => {
  h = await startIdentityHarness();
  const { prisma } = h.identity.deps;
  const adminUser = await prisma.user.findUniqueOrThrow({ where: { email: h.admin.email } });
  admin = { kind: 'user', userId: adminUser.id, role: 'ADMIN', scopes: [...scopesForRole('ADMIN')] };
  // Rows straight into the database: listing is what is measured, not creation (scrypt, throttles).
  for (let index = 0; index < 50; index += 1) {
    const user = await prisma.user.create({
      data: {
        email: `user-${index}-${randomUUID()}@example.com`,
        displayName: `User ${index}`,
        passwordHash: 'not-a-hash',
        role: 'DEVELOPER',
      },
    });
    for (let key = 0; key < KEYS_PER_USER; key += 1) {
      await prisma.apiKey.create({
        data: {
          ownerId: user.id,
          name: `${user.id} key ${key}`,
          prefix: randomBytes(6).toString('hex'),
          secretHash: randomBytes(32).toString('hex'),
          scopes: ['chat:read'],
          createdAt: new Date(Date.now() - (KEYS_PER_USER - key) * 1_000),
          revokedAt: key === 0 ? new Date() : null,
        },
      });
    }
  }
}, 60_000);
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const LIST = /* GraphQL */ `
  query ($first: Int!, $revoked: Boolean!) {
    users(first: $first, role: DEVELOPER) {
      edges {
        node {
          id
          apiKeys(includeRevoked: $revoked) {
            name
            revokedAt
          }
        }
      }
    }
  }
`;

/** The fewest statements of three identical reads (the outbox relay's poll may fall inside one). */
async function fewest(variables: Record<string, unknown>): Promise<{ statements: number; data: any }> {
  let best: { statements: number; data: any } | undefined;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const before = h.statements();
    const result = await h.call(LIST, variables, { principal: admin });
    expect(result.errors).toBeUndefined();
    const statements = h.statements() - before;
    if (!best || statements < best.statements) best = { statements, data: result.data };
  }
  return best!;
}

function expectOwnKeys(data: any, withRevoked: boolean): void {
  for (const edge of data.users.edges) {
    const names = edge.node.apiKeys.map((key: any) => key.name);
    const expected = Array.from({ length: KEYS_PER_USER }, (_, key) => `${edge.node.id} key ${key}`)
      .filter((_, key) => withRevoked || key !== 0)
      .reverse();
    expect(names).toEqual(expected);
  }
}

describe('SQL statements of users { apiKeys }', () => {
  it('do not grow with the number of users listed (5 vs 50), with and without revoked keys', async () => {
    for (const revoked of [false, true]) {
      const five = await fewest({ first: 5, revoked });
      const fifty = await fewest({ first: 50, revoked });
      expect(five.data.users.edges).toHaveLength(5);
      expect(fifty.data.users.edges).toHaveLength(50);
      expectOwnKeys(fifty.data, revoked);
      // The counter does count: users and their keys at least.
      expect(five.statements).toBeGreaterThanOrEqual(2);
      expect(fifty.statements).toBe(five.statements);
    }
  });
});
