import { codedError, ErrorCode } from '@cap/runtime';
import { createInstantIdCursorCodec, instantIdKeyset, pageSize } from '@cap/runtime/kit';
import type { Build, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { FAILED_CONCLUSIONS } from './runFacts.js';

/** Page size of `builds`: the kit's default and maximum. */
export const BUILDS_PAGE = pageSize();

const buildCursor = createInstantIdCursorCodec('build');

/** Opaque cursor of a build in `builds`. */
export function encodeBuildCursor(build: Build): string {
  return buildCursor.encode({ at: build.createdAt, id: build.id });
}

/** `builds`' filters. */
export interface BuildFilter {
  repository: string;
  branch?: string | null | undefined;
  state?: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'OTHER' | null | undefined;
}

function stateWhere(state: BuildFilter['state']): Prisma.BuildWhereInput {
  const failed = [...FAILED_CONCLUSIONS];
  switch (state) {
    case 'RUNNING':
      return { completedAt: null };
    case 'SUCCEEDED':
      return { conclusion: 'SUCCESS' };
    case 'FAILED':
      return { conclusion: { in: failed } };
    case 'OTHER':
      return { completedAt: { not: null }, conclusion: { notIn: ['SUCCESS', ...failed] } };
    default:
      return {};
  }
}

/** One page of a repository's builds, newest first (oldest first when `inverted`), strictly beyond a cursor. */
export async function findBuildPage(
  prisma: PrismaClient,
  filter: BuildFilter,
  options: { after?: string | undefined; before?: string | undefined; limit: number; inverted: boolean },
): Promise<Build[]> {
  if (
    filter.branch !== null &&
    filter.branch !== undefined &&
    (filter.branch.length === 0 || filter.branch.length > 255)
  )
    throw codedError(ErrorCode.BAD_USER_INPUT, 'branch must be 1-255 characters.', {
      field: 'branch',
      expected: '1-255 characters',
      received: `${filter.branch.length} characters`,
    });
  const keyset = instantIdKeyset(buildCursor, options);
  return prisma.build.findMany({
    where: {
      repository: filter.repository,
      ...(filter.branch ? { headBranch: filter.branch } : {}),
      ...stateWhere(filter.state),
      ...keyset.where,
    },
    orderBy: keyset.orderBy,
    take: options.limit,
  });
}
