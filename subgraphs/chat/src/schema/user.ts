import { builder } from '../builder.js';

/**
 * Identity's `User`, referenced by id (authors, participants, creators). Chat adds no fields to it and does not
 * resolve it (`resolvable: false`): the router fetches every other field from identity.
 */
export const UserRef = builder.objectRef<{ id: string }>('User');

UserRef.implement({
  // Identity's wording: composition keeps one description per type.
  description: 'A person who uses the platform.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
  }),
});

builder.asEntity(UserRef, {
  key: builder.keyDirective(builder.selection<{ id: string }>('id'), false),
  // Never called (the key is not resolvable here); a reference is all chat holds anyway.
  resolveReference: (reference) => reference,
});

/** A reference to the user with this id. */
export function userRef(id: string): { id: string } {
  return { id };
}
