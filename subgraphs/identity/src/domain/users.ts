import { randomBytes } from 'node:crypto';
import { UserDeactivated, UserRegistered, UserRoleChanged } from '@cap/events';
import { codedError, ErrorCode, type Principal, type Role } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import { Prisma, type User } from '../generated/prisma/client.js';
import { requireScope } from './authorization.js';
import { type IdentityDeps, type Tx } from './deps.js';
import { assertPasswordPolicy, hashPassword } from './passwords.js';
import { parseEmail, parseId, parseName } from './validation.js';

export interface CreateUserInput {
  email: string;
  password: string;
  displayName: string;
  role: Role;
}

interface NewUser {
  email: string;
  displayName: string;
  passwordHash: string;
  role: Role;
}

/** Validates and hashes before any transaction opens: slow work never holds a connection (or PGlite's session). */
async function prepareUser(input: CreateUserInput): Promise<NewUser> {
  const email = parseEmail(input.email);
  const displayName = parseName(input.displayName, 'displayName');
  assertPasswordPolicy(input.password);
  return { email, displayName, role: input.role, passwordHash: await hashPassword(input.password) };
}

async function insertUser(
  deps: IdentityDeps,
  tx: Tx,
  data: NewUser,
  actorId: string | null,
  requestId?: string,
): Promise<User> {
  try {
    const user = await tx.user.create({ data });
    await deps.events.record(tx, [
      UserRegistered.create(
        { userId: user.id, email: user.email, role: user.role },
        {
          source: 'identity',
          aggregateId: user.id,
          metadata: { ...(actorId ? { actorId } : {}), ...(requestId ? { requestId } : {}) },
        },
      ),
    ]);
    return user;
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw codedError(ErrorCode.CONFLICT, 'A user with this email already exists.', { field: 'email' });
    }
    throw error;
  }
}

/** ADMIN creates a user with a role. */
export async function createUser(
  deps: IdentityDeps,
  principal: Principal,
  input: CreateUserInput,
  requestId?: string,
): Promise<User> {
  const actor = requireScope(principal, 'users:manage');
  const data = await prepareUser(input);
  return inTransaction(deps, ({ tx }) => insertUser(deps, tx, data, actor.userId, requestId));
}

/** ADMIN changes a user's role. An admin cannot demote themselves (the platform would lose its last admin). */
export async function changeUserRole(
  deps: IdentityDeps,
  principal: Principal,
  input: { userId: string; role: Role },
  requestId?: string,
): Promise<User> {
  const actor = requireScope(principal, 'users:manage');
  const userId = parseId(input.userId, 'userId');
  if (userId === actor.userId && input.role !== 'ADMIN') {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Admins cannot change their own role.', { field: 'userId' });
  }
  return inTransaction(deps, async ({ tx }) => {
    const before = await tx.user.findUnique({ where: { id: userId } });
    if (!before) throw codedError(ErrorCode.NOT_FOUND, 'User not found.', { id: userId });
    if (before.role === input.role) return before;
    const user = await tx.user.update({ where: { id: userId }, data: { role: input.role } });
    await deps.events.record(tx, [
      UserRoleChanged.create(
        { userId, from: before.role, to: user.role },
        {
          source: 'identity',
          aggregateId: userId,
          metadata: { actorId: actor.userId, ...(requestId ? { requestId } : {}) },
        },
      ),
    ]);
    return user;
  });
}

/** ADMIN deactivates a user: logins fail, sessions and API keys stop working. */
export async function deactivateUser(
  deps: IdentityDeps,
  principal: Principal,
  input: { userId: string },
  requestId?: string,
): Promise<User> {
  const actor = requireScope(principal, 'users:manage');
  const userId = parseId(input.userId, 'userId');
  if (userId === actor.userId) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Admins cannot deactivate themselves.', { field: 'userId' });
  }
  return inTransaction(deps, async ({ tx }) => {
    const before = await tx.user.findUnique({ where: { id: userId } });
    if (!before) throw codedError(ErrorCode.NOT_FOUND, 'User not found.', { id: userId });
    if (!before.active) return before;
    const user = await tx.user.update({ where: { id: userId }, data: { active: false } });
    await tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
    await deps.events.record(tx, [
      UserDeactivated.create(
        { userId },
        {
          source: 'identity',
          aggregateId: userId,
          metadata: { actorId: actor.userId, ...(requestId ? { requestId } : {}) },
        },
      ),
    ]);
    return user;
  });
}

/** Users visible to the caller: admins see everyone, others only themselves. */
export function canReadUser(principal: Principal, userId: string): boolean {
  if (principal.kind === 'anonymous') return false;
  return principal.userId === userId || principal.scopes.includes('users:manage');
}

/**
 * First start: when no user exists, create an ADMIN. Production takes the credentials from the environment;
 * development generates a password and returns it so the process can print it once.
 */
export async function bootstrapAdmin(
  deps: IdentityDeps,
  options: { production: boolean; email?: string | undefined; password?: string | undefined },
): Promise<{ created: false } | { created: true; email: string; password: string; generated: boolean }> {
  if ((await deps.prisma.user.count()) > 0) return { created: false };
  if (options.production && (!options.email || !options.password)) {
    throw new Error(
      'No user exists yet: set ADMIN_EMAIL and ADMIN_PASSWORD for the first start in production.',
    );
  }
  const email = options.email ?? 'admin@example.com';
  const generated = !options.password;
  const password = options.password ?? randomBytes(18).toString('base64url');
  const data = await prepareUser({ email, password, displayName: 'Administrator', role: 'ADMIN' });
  try {
    await inTransaction(deps, ({ tx }) => insertUser(deps, tx, data, null));
  } catch (error) {
    // Another instance bootstrapped at the same moment.
    if ((error as { extensions?: { code?: string } }).extensions?.code === ErrorCode.CONFLICT)
      return { created: false };
    throw error;
  }
  return { created: true, email, password, generated };
}
