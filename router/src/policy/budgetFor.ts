import type { Principal } from '@cap/runtime';
import type { PolicySettings } from './PolicySettings.js';
import type { Budget } from './rateLimiter.js';

/** Whose budget a request is charged to: the API key (by tier), the user, or the anonymous caller's address. */
export function budgetFor(
  budgets: PolicySettings['budgets'],
  principal: Principal,
  clientIp: string,
): { key: string; budget: Budget } {
  if (principal.kind === 'apiKey')
    return { key: `key:${principal.apiKeyId}`, budget: budgets.tiers[principal.tier] };
  if (principal.kind === 'user') return { key: `user:${principal.userId}`, budget: budgets.user };
  return { key: `ip:${clientIp}`, budget: budgets.anonymous };
}
