import type { Principal } from '@cap/runtime';
import DataLoader from 'dataloader';
import type { ApiKey, User } from './generated/prisma/client.js';
import { apiKeysOfOwnerKey, loadApiKeysOfOwners, type ApiKeysOfOwner } from './domain/apiKeys.js';
import type { IdentityDeps } from './domain/deps.js';

/** Per-request context: who is calling (from the router's token), the use cases' deps, and batch loaders. */
export interface IdentityContext {
  principal: Principal;
  requestId: string;
  clientIp: string;
  userAgent: string | undefined;
  deps: IdentityDeps;
  loaders: {
    /** Users by id, one query per request however many are asked for (entity references included). */
    user: DataLoader<string, User | null>;
    /** API keys by owner, newest first: `users { apiKeys }` costs one query per request, not one per user. */
    apiKeysOfOwner: DataLoader<ApiKeysOfOwner, ApiKey[], string>;
  };
}

export function createLoaders(deps: IdentityDeps): IdentityContext['loaders'] {
  return {
    user: new DataLoader(async (ids) => {
      const users = await deps.prisma.user.findMany({ where: { id: { in: [...ids] } } });
      const byId = new Map(users.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    apiKeysOfOwner: new DataLoader((requests) => loadApiKeysOfOwners(deps.prisma, requests), { cacheKeyFn: apiKeysOfOwnerKey }),
  };
}
