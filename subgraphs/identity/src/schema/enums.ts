import { builder } from '../builder.js';

export const RoleEnum = builder.enumType('Role', {
  description: 'What a user may do. ADMIN includes DEVELOPER includes VIEWER.',
  values: {
    ADMIN: { description: 'Manages users and everything else.' },
    DEVELOPER: { description: 'Creates and runs tasks, chats, connects repositories, manages own API keys.' },
    VIEWER: { description: 'Reads.' },
  } as const,
});

export const ApiKeyTierEnum = builder.enumType('ApiKeyTier', {
  description: 'Rate-limit tier of an API key. Tiers above FREE are granted by admins.',
  values: {
    FREE: { description: 'The default tier.' },
    PRO: { description: 'Higher limits.' },
    ENTERPRISE: { description: 'Highest limits.' },
  } as const,
});
