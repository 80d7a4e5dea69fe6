import { randomBytes, randomUUID } from 'node:crypto';
import { RefreshTokenReuseDetected } from '@cap/events';
import { codedError, ErrorCode, scopesForRole, type Role } from '@cap/runtime';
import { inTransaction } from '@cap/runtime/kit';
import type { User } from '../generated/prisma/client.js';
import { type IdentityDeps, type Tx } from './deps.js';
import { assertPasswordPolicy, decoyHash, PASSWORD_MAX_LENGTH, verifyPassword } from './passwords.js';
import { enforceRateLimit } from './rateLimits.js';
import { sha256 } from './secretBox.js';
import { EMAIL_MAX_LENGTH } from './validation.js';

/** What login and refresh return. */
export interface Session {
  user: User;
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

/** Where a request came from; stored with refresh tokens so users can recognise their sessions. */
export interface RequestOrigin {
  clientIp: string;
  userAgent?: string | undefined;
  requestId: string;
}

const REFRESH_TOKEN_PREFIX = 'rt_';
const REFRESH_TOKEN_MAX_LENGTH = 200;

function invalidCredentials() {
  return codedError(ErrorCode.INVALID_CREDENTIALS, 'Email or password is incorrect.');
}

function invalidRefreshToken() {
  return codedError(ErrorCode.INVALID_REFRESH_TOKEN, 'Refresh token is invalid, expired or already used.');
}

/** Per-address throttle on login: a fixed one-minute window in the shared key-value store. */
async function throttleLogin(deps: IdentityDeps, origin: RequestOrigin): Promise<void> {
  await enforceRateLimit(
    deps,
    {
      operation: 'login',
      limit: deps.settings.loginAttemptsPerMinute,
      windowSeconds: 60,
      message: 'Too many login attempts from this address.',
    },
    origin.clientIp,
  );
}

/** Per-address throttle on refresh-token exchanges (each one is a database transaction). */
async function throttleRefresh(deps: IdentityDeps, origin: RequestOrigin): Promise<void> {
  await enforceRateLimit(
    deps,
    {
      operation: 'refreshSession',
      limit: deps.settings.refreshAttemptsPerMinute,
      windowSeconds: 60,
      message: 'Too many session refreshes from this address.',
    },
    origin.clientIp,
  );
}

async function issueSession(
  deps: IdentityDeps,
  tx: Tx,
  user: User,
  familyId: string,
  origin: RequestOrigin,
): Promise<Omit<Session, 'accessToken' | 'accessTokenExpiresAt'>> {
  const refreshToken = `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const refreshTokenExpiresAt = new Date(Date.now() + deps.settings.refreshTokenTtlSeconds * 1000);
  await tx.refreshToken.create({
    data: {
      userId: user.id,
      familyId,
      tokenHash: sha256(refreshToken),
      expiresAt: refreshTokenExpiresAt,
      clientIp: origin.clientIp.slice(0, 64),
      userAgent: origin.userAgent?.slice(0, 256) ?? null,
    },
  });
  return { user, refreshToken, refreshTokenExpiresAt };
}

async function withAccessToken(
  deps: IdentityDeps,
  session: Omit<Session, 'accessToken' | 'accessTokenExpiresAt'>,
  familyId: string,
): Promise<Session> {
  const { token, expiresAt } = await deps.keys.signAccessToken({
    userId: session.user.id,
    role: session.user.role,
    scopes: scopesForRole(session.user.role as Role),
    sessionId: familyId,
  });
  return { ...session, accessToken: token, accessTokenExpiresAt: expiresAt };
}

/**
 * Password login. The same INVALID_CREDENTIALS error, after the same work, for an unknown email, a wrong
 * password and a deactivated user; throttled per client address; oversized input is refused before hashing.
 */
export async function login(
  deps: IdentityDeps,
  input: { email: string; password: string },
  origin: RequestOrigin,
): Promise<Session> {
  await throttleLogin(deps, origin);
  if (input.password.length > PASSWORD_MAX_LENGTH) assertPasswordPolicy(input.password);
  if (input.email.length > EMAIL_MAX_LENGTH) throw invalidCredentials();
  const email = input.email.trim().toLowerCase();
  const user = await deps.prisma.user.findUnique({ where: { email } });
  const matches = await verifyPassword(input.password, user?.passwordHash ?? (await decoyHash()));
  if (!user || !matches || !user.active) throw invalidCredentials();
  const familyId = randomUUID();
  const session = await inTransaction(deps, ({ tx }) => issueSession(deps, tx, user, familyId, origin));
  deps.logger.info({ userId: user.id, requestId: origin.requestId }, 'user logged in');
  return withAccessToken(deps, session, familyId);
}

/**
 * Rotates a refresh token: the presented one is spent and a new one of the same family is issued. Presenting
 * a spent or revoked token is treated as theft: the whole family is revoked and an event is published.
 * Throttled per client address, so tokens cannot be guessed or a family churned at speed.
 */
export async function refresh(
  deps: IdentityDeps,
  refreshToken: string,
  origin: RequestOrigin,
): Promise<Session> {
  await throttleRefresh(deps, origin);
  if (refreshToken.length > REFRESH_TOKEN_MAX_LENGTH || !refreshToken.startsWith(REFRESH_TOKEN_PREFIX)) {
    throw invalidRefreshToken();
  }
  const tokenHash = sha256(refreshToken);
  const outcome = await inTransaction(deps, async ({ tx }) => {
    const stored = await tx.refreshToken.findUnique({ where: { tokenHash }, include: { user: true } });
    if (!stored) return { kind: 'unknown' as const };
    if (stored.rotatedAt || stored.revokedAt) {
      await revokeFamily(tx, stored.familyId);
      await deps.events.record(tx, [
        RefreshTokenReuseDetected.create(
          { userId: stored.userId, familyId: stored.familyId },
          { source: 'identity', aggregateId: stored.userId, metadata: { requestId: origin.requestId } },
        ),
      ]);
      return { kind: 'reused' as const, userId: stored.userId, familyId: stored.familyId };
    }
    if (stored.expiresAt <= new Date() || !stored.user.active) return { kind: 'expired' as const };
    // Conditional update: of two concurrent refreshes with the same token exactly one wins.
    const spent = await tx.refreshToken.updateMany({
      where: { id: stored.id, rotatedAt: null, revokedAt: null },
      data: { rotatedAt: new Date() },
    });
    if (spent.count !== 1) {
      await revokeFamily(tx, stored.familyId);
      return { kind: 'reused' as const, userId: stored.userId, familyId: stored.familyId };
    }
    const session = await issueSession(deps, tx, stored.user, stored.familyId, origin);
    return { kind: 'rotated' as const, session, familyId: stored.familyId };
  });
  if (outcome.kind === 'reused') {
    deps.logger.warn(
      { userId: outcome.userId, familyId: outcome.familyId, requestId: origin.requestId },
      'refresh token reuse detected; session family revoked',
    );
  }
  if (outcome.kind !== 'rotated') throw invalidRefreshToken();
  return withAccessToken(deps, outcome.session, outcome.familyId);
}

async function revokeFamily(tx: Tx, familyId: string): Promise<void> {
  await tx.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } });
}

/**
 * Ends the session the refresh token belongs to (or, with `allSessions`, every session of its user).
 * Idempotent: logging out twice, or with an unknown token, succeeds without revealing anything.
 */
export async function logout(
  deps: IdentityDeps,
  input: { refreshToken: string; allSessions?: boolean | null | undefined },
): Promise<{ revokedSessions: number }> {
  if (input.refreshToken.length > REFRESH_TOKEN_MAX_LENGTH) return { revokedSessions: 0 };
  const stored = await deps.prisma.refreshToken.findUnique({
    where: { tokenHash: sha256(input.refreshToken) },
  });
  if (!stored) return { revokedSessions: 0 };
  const where = input.allSessions ? { userId: stored.userId } : { familyId: stored.familyId };
  const families = await deps.prisma.refreshToken.findMany({
    where: { ...where, revokedAt: null },
    distinct: ['familyId'],
    select: { familyId: true },
  });
  await deps.prisma.refreshToken.updateMany({
    where: { ...where, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return { revokedSessions: families.length };
}
