import type { CostSettings } from './cost.js';
import type { OperationLimits } from './limits.js';
import type { Budget } from './rateLimiter.js';

/** How the router applies its policies; every field documented in README ("Router policy"). */
export interface PolicySettings {
  /** Master switch: off = authentication only (used by the overhead benchmark). */
  enabled: boolean;
  /**
   * Entries of the cache of policy decisions for operations without variables, keyed by document and the
   * caller's rights (0 = off); the budget is still charged per request.
   */
  decisionCacheSize: number;
  /** `filter`: drop unauthorized fields and run the rest; `reject`: refuse the whole operation. */
  authorizationMode: 'filter' | 'reject';
  /** `enforce`: refuse operations above `maxCost`; `measure`: log them and run them. */
  costMode: 'enforce' | 'measure';
  maxCost: number;
  cost: CostSettings;
  limits: OperationLimits;
  /** `enabled` everywhere, `admin` = only ADMIN callers (production default), `disabled`. */
  introspection: 'enabled' | 'admin' | 'disabled';
  /** Hide "Did you mean …?" suggestions from non-admins (production default). */
  hideSuggestions: boolean;
  budgets: {
    user: Budget;
    anonymous: Budget;
    tiers: Record<'FREE' | 'PRO' | 'ENTERPRISE', Budget>;
  };
}
