import { codedError, ErrorCode } from '@cap/runtime';
import {
  assertForwardOnly,
  createInstantIdCursorCodec,
  cursorPart,
  pageSize,
  resolvePageSize,
  type PageArgs,
} from '@cap/runtime/kit';
import type { ClassifierTraining } from '../generated/prisma/client.js';
import type { MlClassifierDeps } from './deps.js';
import { MODEL_SUMMARY, type ModelSummary } from './models.js';

/** `classifierModels` pages (few versions exist; 20 per page by default). */
export const MODELS_PAGE = pageSize({ default: 20, max: 100 });
/** `classifierTrainings` pages. */
export const TRAININGS_PAGE = pageSize({ default: 20, max: 100 });

export const modelCursor = createInstantIdCursorCodec('classifierModels', 'a cursor from classifierModels');
export const trainingCursor = createInstantIdCursorCodec(
  'classifierTrainings',
  'a cursor from classifierTrainings',
);

/** A UUID, or BAD_USER_INPUT naming `field` (the database would otherwise fail on a malformed id). */
export function parseId(value: string, field = 'id'): string {
  const id = cursorPart.uuid(value);
  if (!id)
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is not a valid id.`, { field, expected: 'a UUID' });
  return id;
}

/** Keyset condition for "after this (createdAt, id)" in newest-first order. */
function olderThan(after: string | null | undefined, decode: (cursor: string) => { at: Date; id: string }) {
  if (!after) return {};
  const position = decode(after);
  return {
    OR: [{ createdAt: { lt: position.at } }, { createdAt: position.at, id: { lt: position.id } }],
  };
}

/** Model versions, newest first (forward only). */
export async function listModels(
  deps: MlClassifierDeps,
  args: PageArgs,
): Promise<{ items: ModelSummary[]; hasNextPage: boolean }> {
  assertForwardOnly(args);
  const size = resolvePageSize(args, MODELS_PAGE);
  const rows = await deps.prisma.classifierModel.findMany({
    select: MODEL_SUMMARY,
    where: olderThan(args.after, (cursor) => modelCursor.decode(cursor)),
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: size + 1,
  });
  return { items: rows.slice(0, size), hasNextPage: rows.length > size };
}

/** Retrains, newest first (forward only). */
export async function listTrainings(
  deps: MlClassifierDeps,
  args: PageArgs,
): Promise<{ items: ClassifierTraining[]; hasNextPage: boolean }> {
  assertForwardOnly(args);
  const size = resolvePageSize(args, TRAININGS_PAGE);
  const rows = await deps.prisma.classifierTraining.findMany({
    where: olderThan(args.after, (cursor) => trainingCursor.decode(cursor)),
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: size + 1,
  });
  return { items: rows.slice(0, size), hasNextPage: rows.length > size };
}
