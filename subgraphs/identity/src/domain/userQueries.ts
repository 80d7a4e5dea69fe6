import type { Role } from '@cap/runtime';
import { createInstantIdCursorCodec, instantIdKeyset, pageSize } from '@cap/runtime/kit';
import type { PrismaClient, User } from '../generated/prisma/client.js';

/** Page size of `users`: the kit's default and maximum. */
export const USERS_PAGE = pageSize();

const userCursor = createInstantIdCursorCodec('user');

/** Opaque cursor of `user` in the user list. */
export function encodeUserCursor(user: User): string {
  return userCursor.encode({ at: user.createdAt, id: user.id });
}

/** One page of users, newest first (oldest first when `inverted`, for paging backwards), strictly beyond a cursor. */
export async function findUserPage(
  prisma: PrismaClient,
  options: {
    role?: Role | null | undefined;
    after?: string | undefined;
    before?: string | undefined;
    limit: number;
    inverted: boolean;
  },
): Promise<User[]> {
  const keyset = instantIdKeyset(userCursor, options);
  return prisma.user.findMany({
    where: { ...(options.role ? { role: options.role } : {}), ...keyset.where },
    orderBy: keyset.orderBy,
    take: options.limit,
  });
}

/** Users by id in the order asked, null where none exists: one statement for a whole DataLoader batch. */
export async function loadUsersById(
  prisma: PrismaClient,
  ids: readonly string[],
): Promise<Array<User | null>> {
  const users = await prisma.user.findMany({ where: { id: { in: [...ids] } } });
  const byId = new Map(users.map((user) => [user.id, user]));
  return ids.map((id) => byId.get(id) ?? null);
}
