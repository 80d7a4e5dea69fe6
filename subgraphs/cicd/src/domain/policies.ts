import { codedError, ErrorCode, hasScope, type Principal } from '@cap/runtime';
import type { FixMode, FixPolicy } from '../generated/prisma/client.js';
import type { CicdDeps } from './deps.js';

/** Bounds of a fix policy's fields (README "Fix policy"). */
export const POLICY_LIMITS = {
  repository: 201,
  branches: 20,
  branch: 255,
  attempts: 20,
} as const;

/** `owner/name`: GitHub's characters for owners (alphanumerics, `-`) and names (also `.` and `_`). */
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** The caller's user id when they may change repositories (`repos:write`). @throws UNAUTHENTICATED, FORBIDDEN */
export function requireRepoWriter(principal: Principal): string {
  if (principal.kind === 'anonymous') throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
  if (!hasScope(principal, 'repos:write'))
    throw codedError(ErrorCode.FORBIDDEN, 'Changing fix policies needs repos:write.', {
      requiredScope: 'repos:write',
    });
  return principal.userId;
}

/** @throws UNAUTHENTICATED, FORBIDDEN without `repos:read`. */
export function requireRepoReader(principal: Principal): void {
  if (principal.kind === 'anonymous') throw codedError(ErrorCode.UNAUTHENTICATED, 'Authentication required.');
  if (!hasScope(principal, 'repos:read'))
    throw codedError(ErrorCode.FORBIDDEN, 'Reading builds needs repos:read.', {
      requiredScope: 'repos:read',
    });
}

/** A repository argument as cicd keys it (`owner/name`, lower case). @throws BAD_USER_INPUT */
export function parseRepository(value: string, field = 'repository'): string {
  if (value.length > POLICY_LIMITS.repository || !REPOSITORY.test(value))
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} must be owner/name.`, {
      field,
      expected: 'owner/name (GitHub characters, at most 201)',
      received: value.length > 50 ? `${value.length} characters` : value,
    });
  return value.toLowerCase();
}

/** What `setFixPolicy` takes. */
export interface FixPolicyInput {
  repository: string;
  mode: FixMode;
  branches?: readonly string[] | null | undefined;
  maxAttemptsPerPullRequest?: number | null | undefined;
  maxAttemptsPerFingerprint?: number | null | undefined;
}

function parseAttempts(value: number | null | undefined, field: string, fallback: number): number {
  if (value === null || value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > POLICY_LIMITS.attempts)
    throw codedError(
      ErrorCode.BAD_USER_INPUT,
      `${field} must be an integer from 1 to ${POLICY_LIMITS.attempts}.`,
      {
        field,
        expected: `1..${POLICY_LIMITS.attempts}`,
        received: String(value).slice(0, 20),
      },
    );
  return value;
}

/** A branch name argument (git's ref-name rules, loosely; no glob). @throws BAD_USER_INPUT */
export function parseBranch(value: string, field = 'branch'): string {
  if (
    value.length === 0 ||
    value.length > POLICY_LIMITS.branch ||
    hasForbiddenRefCharacter(value) ||
    value.includes('..') ||
    value.includes('*')
  )
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is not a valid branch name.`, {
      field,
      expected: `a branch name (1-${POLICY_LIMITS.branch} characters; no spaces, control characters, .., ~^:?*[ or backslash)`,
      received: value.length > 50 ? `${value.length} characters` : value,
    });
  return value;
}

function parseBranches(branches: readonly string[] | null | undefined): string[] {
  if (branches === null || branches === undefined) return ['*'];
  if (branches.length > POLICY_LIMITS.branches)
    throw codedError(ErrorCode.BAD_USER_INPUT, `At most ${POLICY_LIMITS.branches} branch patterns.`, {
      field: 'branches',
      expected: `1..${POLICY_LIMITS.branches} patterns`,
      received: `${branches.length} patterns`,
    });
  const parsed = branches.map((branch, index) => {
    // git's ref-name rules, loosely: no control characters, spaces, `..`, `~^:?[\`; `*` is the glob.
    if (
      branch.length === 0 ||
      branch.length > POLICY_LIMITS.branch ||
      hasForbiddenRefCharacter(branch) ||
      branch.includes('..')
    )
      throw codedError(ErrorCode.BAD_USER_INPUT, 'A branch pattern is not a valid branch name or glob.', {
        field: `branches[${index}]`,
        expected: 'a branch name, `*` matching any characters',
        received: branch.length > 50 ? `${branch.length} characters` : branch,
      });
    return branch;
  });
  if (parsed.length === 0)
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Give at least one branch pattern (`*` for all).', {
      field: 'branches',
      expected: '1..20 patterns',
      received: '0 patterns',
    });
  return [...new Set(parsed)];
}

/**
 * Sets a repository's fix policy (`repos:write`); the caller becomes the accountable user fix tasks are created
 * for. @throws {GraphQLError} UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT
 */
export async function setFixPolicy(
  deps: CicdDeps,
  principal: Principal,
  input: FixPolicyInput,
): Promise<FixPolicy> {
  const caller = requireRepoWriter(principal);
  const repository = parseRepository(input.repository);
  if (!['OFF', 'SUGGEST', 'AUTO'].includes(input.mode))
    throw codedError(ErrorCode.BAD_USER_INPUT, 'mode must be OFF, SUGGEST or AUTO.', { field: 'mode' });
  const data = {
    mode: input.mode,
    branches: parseBranches(input.branches),
    maxAttemptsPerPullRequest: parseAttempts(input.maxAttemptsPerPullRequest, 'maxAttemptsPerPullRequest', 3),
    maxAttemptsPerFingerprint: parseAttempts(input.maxAttemptsPerFingerprint, 'maxAttemptsPerFingerprint', 3),
    enabledBy: caller,
  };
  return deps.prisma.fixPolicy.upsert({
    where: { repository },
    create: { repository, ...data },
    update: data,
  });
}

/** A UUID, or BAD_USER_INPUT (Prisma would otherwise fail on a malformed id with an unexpected error). */
export function parseId(value: string, field = 'id'): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is not a valid id.`, { field, expected: 'a UUID' });
  return value.toLowerCase();
}

/** A character git forbids in ref names (control characters, space, DEL, `~^:?[\\`); `*` is the glob. */
function hasForbiddenRefCharacter(branch: string): boolean {
  for (const char of branch) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f || '~^:?[\\'.includes(char)) return true;
  }
  return false;
}
