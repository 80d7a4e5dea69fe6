import { roleAtLeast, type Principal } from '@cap/runtime';

/**
 * Named policies for `@policy(policies: [[...]])`. The schema names them; the router evaluates them. A
 * supergraph naming a policy that is not here fails to load (the router refuses to start or to reload).
 */
export const POLICIES: Record<string, (principal: Principal) => boolean> = {
  /** Callers with the ADMIN role (users or their API keys). */
  'role:admin': (principal) => principal.kind !== 'anonymous' && roleAtLeast(principal.role, 'ADMIN'),
  /** DEVELOPER or ADMIN. */
  'role:developer': (principal) => principal.kind !== 'anonymous' && roleAtLeast(principal.role, 'DEVELOPER'),
  /** Signed-in users only, not API keys (for account-management fields). */
  'session:interactive': (principal) => principal.kind === 'user',
  /** API keys of the PRO or ENTERPRISE tier, or interactive users. */
  'tier:pro': (principal) => principal.kind === 'user' || (principal.kind === 'apiKey' && principal.tier !== 'FREE'),
};
