import type { Principal } from '@cap/runtime';

/**
 * The part of a principal that decides what it may see and what subgraphs answer it, as a key: the kind, the
 * user and API key ids, role, tier and scopes (sorted), and the client address. Two callers share a
 * deduplicated result only when every one of these is equal.
 */
export function identityKey(principal: Principal, clientIp: string): string {
  switch (principal.kind) {
    case 'anonymous':
      return `anonymous|${clientIp}`;
    case 'user':
      return [
        'user',
        principal.userId,
        principal.role,
        [...principal.scopes].sort().join(','),
        clientIp,
      ].join('|');
    case 'apiKey':
      return [
        'apiKey',
        principal.userId,
        principal.apiKeyId,
        principal.role,
        principal.tier,
        [...principal.scopes].sort().join(','),
        clientIp,
      ].join('|');
  }
}

/**
 * Everything about a caller the policies read (README "Router policy"): whether it is signed in and how, its
 * role, API-key tier and scopes. Not its ids: two callers equal in these get the same decision.
 */
export function rightsKey(principal: Principal): string {
  if (principal.kind === 'anonymous') return 'anonymous';
  const tier = principal.kind === 'apiKey' ? principal.tier : '';
  return `${principal.kind}|${principal.role}|${tier}|${[...principal.scopes].sort().join(',')}`;
}
