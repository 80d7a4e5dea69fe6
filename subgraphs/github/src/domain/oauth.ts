import { createHash, randomBytes } from 'node:crypto';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import type { GithubDeps } from './deps.js';
import { GITHUB_CREDENTIALS_FIX, githubFailure } from './githubAccess.js';

/** What GitHub's token endpoint answers (JSON when asked with `Accept: application/json`). */
interface TokenAnswer {
  access_token?: unknown;
  scope?: unknown;
  error?: unknown;
}

function hash(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}

/**
 * Starts GitHub's OAuth web flow for the calling user: a random `state` (only its SHA-256 is stored) bound to the
 * user, valid GITHUB_OAUTH_STATE_TTL_SECONDS and once; the URL to send the user to.
 */
export async function githubAuthorizeUrl(
  deps: GithubDeps,
  principal: Principal,
): Promise<{ url: string; expiresAt: Date }> {
  if (principal.kind !== 'user')
    throw codedError(ErrorCode.FORBIDDEN, 'Only a signed-in user connects their own GitHub account.');
  const oauth = deps.settings.oauth;
  if (!oauth)
    throw codedError(ErrorCode.GITHUB_NOT_CONFIGURED, 'GitHub OAuth is not configured.', {
      fix: 'Set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and GITHUB_OAUTH_REDIRECT_URL.',
    });
  const state = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + deps.settings.oauthStateTtlSeconds * 1_000);
  await deps.prisma.oAuthState.create({
    data: { stateHash: hash(state), userId: principal.userId, expiresAt },
  });
  const url = new URL('/login/oauth/authorize', deps.settings.webUrl);
  url.searchParams.set('client_id', oauth.clientId);
  url.searchParams.set('state', state);
  url.searchParams.set('scope', 'repo');
  if (oauth.redirectUrl) url.searchParams.set('redirect_uri', oauth.redirectUrl);
  return { url: url.toString(), expiresAt };
}

/**
 * The callback's work: the `state` must be one this subgraph issued, unexpired and unused (it is spent at once,
 * whatever follows); the code is exchanged for the user's token, which is sealed (bound to the user) and stored.
 * @returns the GitHub login connected
 * @throws GraphQLError OAUTH_STATE_INVALID for a forged, expired or replayed state
 */
export async function completeAuthorization(
  deps: GithubDeps,
  input: { state: string; code: string },
): Promise<{ userId: string; login: string }> {
  const stateHash = hash(input.state);
  const row = await deps.prisma.oAuthState.findUnique({ where: { stateHash } });
  const spent = await deps.prisma.oAuthState.updateMany({
    where: { stateHash, usedAt: null, expiresAt: { gt: new Date() } },
    data: { usedAt: new Date() },
  });
  if (!row || spent.count !== 1)
    throw codedError(
      ErrorCode.OAUTH_STATE_INVALID,
      'This authorization link is unknown, expired or already used.',
    );
  const oauth = deps.settings.oauth;
  if (!oauth)
    throw codedError(ErrorCode.GITHUB_NOT_CONFIGURED, 'GitHub OAuth is not configured.', {
      fix: GITHUB_CREDENTIALS_FIX,
    });
  const response = await fetch(new URL('/login/oauth/access_token', deps.settings.webUrl), {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: oauth.clientId,
      client_secret: oauth.clientSecret,
      code: input.code,
      ...(oauth.redirectUrl ? { redirect_uri: oauth.redirectUrl } : {}),
    }),
    signal: AbortSignal.timeout(15_000),
  });
  const answer = (await response.json().catch(() => ({}))) as TokenAnswer;
  if (!response.ok || typeof answer.access_token !== 'string')
    throw codedError(ErrorCode.GITHUB_UNAVAILABLE, 'GitHub did not exchange the authorization code.', {
      status: response.status,
      reason: typeof answer.error === 'string' ? answer.error.slice(0, 100) : null,
    });
  const token = answer.access_token;
  let login: string;
  try {
    login = (await deps.access.clientWith(token).rest.users.getAuthenticated()).data.login;
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
  const sealed = deps.cipher.seal(token, row.userId);
  const scopes = typeof answer.scope === 'string' ? answer.scope.slice(0, 500) : '';
  await deps.prisma.userCredential.upsert({
    where: { userId: row.userId },
    create: { userId: row.userId, login, sealed, scopes },
    update: { login, sealed, scopes },
  });
  return { userId: row.userId, login };
}

/** Re-seals every stored credential with the primary key (after a key rotation); returns how many changed. */
export async function resealCredentials(deps: GithubDeps): Promise<number> {
  let changed = 0;
  for (const row of await deps.prisma.userCredential.findMany()) {
    if (!deps.cipher.needsReseal(row.sealed)) continue;
    await deps.prisma.userCredential.update({
      where: { userId: row.userId },
      data: { sealed: deps.cipher.reseal(row.sealed, row.userId) },
    });
    changed += 1;
  }
  return changed;
}
