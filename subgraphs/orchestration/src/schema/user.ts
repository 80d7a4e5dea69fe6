import type { ObjectRef } from '@pothos/core';
import { builder } from '../builder.js';

const UserEntity = builder.externalRef(
  'User',
  builder.keyDirective(builder.selection<{ id: string }>('id'), false),
);

UserEntity.implement({
  // Identity's wording: composition keeps one description per type.
  description: 'A person who uses the platform.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
  }),
});

/**
 * Identity's `User`, referenced by id only (a non-resolvable key): orchestration stores the creator's id and
 * the router fetches every other field from identity.
 */
export const UserRef: ObjectRef<typeof builder.$inferSchemaTypes, { id: string }> = UserEntity;
