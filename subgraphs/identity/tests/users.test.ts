import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@cap/runtime';
import { errorCodes } from '@cap/testkit';
import { adminPrincipal, LOGIN, startIdentityHarness, type IdentityHarness } from './harness.js';

let h: IdentityHarness;
let admin: Principal;
beforeAll(async () => {
  h = await startIdentityHarness();
  admin = await adminPrincipal(h);
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
});

const CREATE_USER = /* GraphQL */ `
  mutation Create($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      email
      role
      active
    }
  }
`;

function userInput(overrides: Record<string, unknown> = {}) {
  return {
    email: `dev-${Math.random().toString(36).slice(2)}@example.com`,
    password: 'correct-horse-battery',
    displayName: 'Dev',
    role: 'DEVELOPER',
    ...overrides,
  };
}

describe('user administration', () => {
  it('lets an admin create a user who can then log in, and publishes UserRegistered', async () => {
    const received: string[] = [];
    const subscription = await h.bus.subscribe({
      groupId: 'users-test',
      topics: ['identity.user'],
      fromBeginning: true,
      handler: async (record) => {
        received.push(JSON.parse(record.value).type);
      },
    });
    const input = userInput({ email: "O'Brien+Team@Example.com" });
    const created = await h.call(CREATE_USER, { input }, { principal: admin });
    expect(created.errors).toBeUndefined();
    expect(created.data!['createUser']).toMatchObject({
      email: "o'brien+team@example.com",
      role: 'DEVELOPER',
      active: true,
    });
    const login = await h.call(LOGIN, { email: "o'brien+team@example.com", password: input.password });
    expect(login.errors).toBeUndefined();
    await expect.poll(() => received.includes('UserRegistered'), { timeout: 5_000 }).toBe(true);
    await subscription.close();
  });

  it('refuses duplicates, bad emails, short passwords and control characters with coded errors and writes nothing', async () => {
    const before = await h.identity.deps.prisma.user.count();
    const input = userInput();
    expect((await h.call(CREATE_USER, { input }, { principal: admin })).errors).toBeUndefined();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: input.email.toUpperCase() }, 'CONFLICT'],
      [{ email: 'not-an-email' }, 'BAD_USER_INPUT'],
      [{ email: `${'a'.repeat(300)}@example.com` }, 'BAD_USER_INPUT'],
      [{ password: 'short' }, 'BAD_USER_INPUT'],
      [{ displayName: 'evil\u0000name' }, 'BAD_USER_INPUT'],
      [{ displayName: 'x'.repeat(101) }, 'BAD_USER_INPUT'],
    ];
    for (const [overrides, code] of cases) {
      const result = await h.call(
        CREATE_USER,
        { input: userInput(overrides.email ? overrides : { ...overrides }) },
        { principal: admin },
      );
      expect(errorCodes(result), JSON.stringify(overrides).slice(0, 80)).toEqual([code]);
    }
    expect(await h.identity.deps.prisma.user.count()).toBe(before + 1);
  });

  it('refuses user administration to developers and anonymous callers', async () => {
    const developer: Principal = {
      kind: 'user',
      userId: admin.kind === 'user' ? admin.userId : '',
      role: 'DEVELOPER',
      scopes: ['tasks:write'],
    };
    expect(errorCodes(await h.call(CREATE_USER, { input: userInput() }, { principal: developer }))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await h.call(CREATE_USER, { input: userInput() }))).toEqual(['UNAUTHENTICATED']);
    expect(
      errorCodes(await h.call(`{ users(first: 5) { edges { node { id } } } }`, {}, { principal: developer })),
    ).toEqual(['FORBIDDEN']);
  });

  it('deactivating a user ends their sessions and refuses their logins', async () => {
    const input = userInput();
    const created = await h.call(CREATE_USER, { input }, { principal: admin });
    const userId = created.data!['createUser'].id as string;
    const login = await h.call(LOGIN, { email: input.email, password: input.password });
    const refreshToken = login.data!['login'].refreshToken as string;
    const deactivated = await h.call(
      `mutation($id: ID!) { deactivateUser(userId: $id) { active } }`,
      { id: userId },
      { principal: admin },
    );
    expect(deactivated.data!['deactivateUser']).toEqual({ active: false });
    expect(errorCodes(await h.call(LOGIN, { email: input.email, password: input.password }))).toEqual([
      'INVALID_CREDENTIALS',
    ]);
    const refresh = await h.call(
      `mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { accessToken } }`,
      { t: refreshToken },
    );
    expect(errorCodes(refresh)).toEqual(['INVALID_REFRESH_TOKEN']);
  });

  it('changes roles, pages through users newest first, and hides emails from other users', async () => {
    const created = await h.call(CREATE_USER, { input: userInput({ role: 'VIEWER' }) }, { principal: admin });
    const userId = created.data!['createUser'].id as string;
    const changed = await h.call(
      `mutation($id: ID!) { changeUserRole(userId: $id, role: DEVELOPER) { role } }`,
      { id: userId },
      { principal: admin },
    );
    expect(changed.data!['changeUserRole']).toEqual({ role: 'DEVELOPER' });

    const total = await h.identity.deps.prisma.user.count();
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const result: { data?: Record<string, any> | null; errors?: unknown } = await h.call(
        `query($after: String) { users(first: 2, after: $after) { edges { node { id createdAt } } pageInfo { hasNextPage endCursor } } }`,
        { after },
        { principal: admin },
      );
      expect(result.errors).toBeUndefined();
      const connection: {
        edges: Array<{ node: { id: string } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      } = result.data!['users'];
      seen.push(...connection.edges.map((edge: { node: { id: string } }) => edge.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);

    const other: Principal = { kind: 'user', userId, role: 'DEVELOPER', scopes: ['graph:read'] };
    const adminId = admin.kind === 'user' ? admin.userId : '';
    const reference = await h.call(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName email } } }`,
      { r: [{ __typename: 'User', id: adminId }] },
      { principal: other },
    );
    expect(reference.data!['_entities'][0]).toEqual({
      id: adminId,
      displayName: 'Administrator',
      email: null,
    });
    expect(
      errorCodes(
        await h.call(`query($id: ID!) { user(id: $id) { id } }`, { id: adminId }, { principal: other }),
      ),
    ).toEqual(['FORBIDDEN']);
    expect(errorCodes(await h.call(`{ user(id: "not-a-uuid") { id } }`, {}, { principal: admin }))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });
});

describe('first start', () => {
  it('refuses to start in production without ADMIN_EMAIL and ADMIN_PASSWORD when no user exists', async () => {
    await expect(
      startIdentityHarness({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused',
      }),
    ).rejects.toThrow(/ADMIN_EMAIL and ADMIN_PASSWORD/);
  });
});
