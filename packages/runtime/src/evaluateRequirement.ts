import { ErrorCode } from './errors.js';
import type { Principal } from './principal.js';
import { roleAtLeast } from './scopes.js';

/**
 * The one evaluator of the Federation 2 authorization directives (`@authenticated`, `@requiresScopes`,
 * `@policy`): the router decides every selected field with it (router/src/policy/authorize.ts) and each subgraph
 * decides its resolvers with it again (defence in depth, `directiveAuthorization.ts`, ADR 0007), so the two can
 * never disagree about what a declaration means.
 */

/** Named policies for `@policy(policies: [[...]])`, by the names schemas use. */
export type PrincipalPolicies = Readonly<Record<string, (principal: Principal) => boolean>>;

/**
 * The policy registry: every name a schema may give `@policy`. The router refuses a supergraph, and a subgraph
 * refuses its own schema at start, when either names a policy missing here.
 */
export const PRINCIPAL_POLICIES: PrincipalPolicies = {
  /** Callers with the ADMIN role (users or their API keys). */
  'role:admin': (principal) => principal.kind !== 'anonymous' && roleAtLeast(principal.role, 'ADMIN'),
  /** DEVELOPER or ADMIN. */
  'role:developer': (principal) => principal.kind !== 'anonymous' && roleAtLeast(principal.role, 'DEVELOPER'),
  /** Signed-in users only, not API keys (for account-management fields). */
  'session:interactive': (principal) => principal.kind === 'user',
  /** API keys of the PRO or ENTERPRISE tier, or interactive users. */
  'tier:pro': (principal) =>
    principal.kind === 'user' || (principal.kind === 'apiKey' && principal.tier !== 'FREE'),
};

/** Names of the policies in {@link PRINCIPAL_POLICIES}. */
export type PolicyName = 'role:admin' | 'role:developer' | 'session:interactive' | 'tier:pro';

/**
 * What one directive application demands of a caller. `@authenticated` is a requirement with neither scopes
 * nor policies. In `scopes` and `policies` the outer list is OR, the inner AND.
 */
export interface AuthorizationRequirement {
  /** Where it was declared: `Query.users`, or `type User` for a type-level directive. */
  source: string;
  scopes: readonly (readonly string[])[] | null;
  policies: readonly (readonly string[])[] | null;
}

/** Why a requirement refuses a caller: not signed in, or signed in without the scopes or policies it names. */
export type RequirementDenial =
  | { code: typeof ErrorCode.UNAUTHENTICATED }
  | { code: typeof ErrorCode.FORBIDDEN; unmet: 'scopes' | 'policies' };

/**
 * Decides one requirement for one caller: null when it is met. Every authorization directive implies
 * authentication, so an anonymous caller is UNAUTHENTICATED (signing in is what they can do); a signed-in caller
 * lacking every alternative group of `scopes`, or of `policies` (evaluated with `policies`, the registry), is
 * FORBIDDEN. A policy name missing from the registry never allows.
 */
export function evaluateRequirement(
  requirement: AuthorizationRequirement,
  principal: Principal,
  policies: PrincipalPolicies = PRINCIPAL_POLICIES,
): RequirementDenial | null {
  if (principal.kind === 'anonymous') return { code: ErrorCode.UNAUTHENTICATED };
  const held = principal.scopes as readonly string[];
  if (requirement.scopes && !requirement.scopes.some((group) => group.every((scope) => held.includes(scope))))
    return { code: ErrorCode.FORBIDDEN, unmet: 'scopes' };
  if (
    requirement.policies &&
    !requirement.policies.some((group) =>
      group.every((name) => Object.hasOwn(policies, name) && policies[name]?.(principal) === true),
    )
  )
    return { code: ErrorCode.FORBIDDEN, unmet: 'policies' };
  return null;
}
