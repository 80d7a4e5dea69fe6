import type { Principal } from '@cap/runtime';
import DataLoader from 'dataloader';
import type { ApiKey, User } from './generated/prisma/client.js';
import {
  apiKeysOfOwnerKey,
  loadApiKeysById,
  loadApiKeysOfOwners,
  type ApiKeysOfOwner,
} from './domain/apiKeys.js';
import type { IdentityDeps } from './domain/deps.js';
import { loadUsersById } from './domain/userQueries.js';

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
    /** API keys by id (`node(id:)`). */
    apiKey: DataLoader<string, ApiKey | null>;
    /** API keys by owner, newest first: `users { apiKeys }` costs one query per request, not one per user. */
    apiKeysOfOwner: DataLoader<ApiKeysOfOwner, ApiKey[], string>;
  };
}

export function createLoaders(deps: IdentityDeps): IdentityContext['loaders'] {
  return {
    user: new DataLoader((ids) => loadUsersById(deps.prisma, ids)),
    apiKey: new DataLoader((ids) => loadApiKeysById(deps.prisma, ids)),
    apiKeysOfOwner: new DataLoader((requests) => loadApiKeysOfOwners(deps.prisma, requests), {
      cacheKeyFn: apiKeysOfOwnerKey,
    }),
  };
}
