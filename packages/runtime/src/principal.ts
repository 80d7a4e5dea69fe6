import type { Role, Scope } from './scopes.js';

/** API-key tiers; the router's rate limits are set per tier. */
export const ApiKeyTier = { FREE: 'FREE', PRO: 'PRO', ENTERPRISE: 'ENTERPRISE' } as const;
export type ApiKeyTier = (typeof ApiKeyTier)[keyof typeof ApiKeyTier];

/** Who is calling, as the router established it and passed it to subgraphs in the internal token. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; role: Role; scopes: readonly Scope[] }
  | {
      kind: 'apiKey';
      userId: string;
      apiKeyId: string;
      role: Role;
      scopes: readonly Scope[];
      tier: ApiKeyTier;
    };

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });

/** The user id behind a principal, or null for anonymous callers. */
export function principalUserId(principal: Principal): string | null {
  return principal.kind === 'anonymous' ? null : principal.userId;
}

/** True when the principal holds `scope`. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.kind !== 'anonymous' && principal.scopes.includes(scope);
}
