import { builder } from '../builder.js';
import type { ApiKey, User } from '../generated/prisma/client.js';

/** `User`. Refs are declared apart from their implementations, which refer to each other (a user's keys, a key's owner). */
export const UserRef = builder.objectRef<User>('User');
/** `ApiKey`. */
export const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey');
