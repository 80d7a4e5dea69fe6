import { createCursorCodec, cursorPart, type CursorCodec } from '@cap/runtime/kit';
import type { CodingTask, Prisma, TaskPriority } from '../generated/prisma/client.js';
import type { OrchestrationDeps } from './orchestrationDeps.js';
import type { TaskStatus } from './taskStateMachine.js';
import { parseId } from './validation.js';

/** Filters of the `tasks` list; every given filter must match. */
export interface TaskFilter {
  status?: readonly TaskStatus[] | null | undefined;
  repository?: string | null | undefined;
  creatorId?: string | null | undefined;
  createdAfter?: Date | null | undefined;
  createdBefore?: Date | null | undefined;
}

/** Sort order of the `tasks` list. */
export interface TaskOrder {
  field: 'CREATED_AT' | 'UPDATED_AT' | 'PRIORITY';
  direction: 'ASC' | 'DESC';
}

/** Newest first. */
export const DEFAULT_TASK_ORDER: TaskOrder = { field: 'CREATED_AT', direction: 'DESC' };

/** PostgreSQL orders the enum by declaration: LOW < NORMAL < HIGH < URGENT. */
const PRIORITIES: readonly TaskPriority[] = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];

/** The checked filter as a Prisma `where`. */
export function taskFilterWhere(filter: TaskFilter | null | undefined): Prisma.CodingTaskWhereInput {
  if (!filter) return {};
  return {
    ...(filter.status && filter.status.length > 0 ? { status: { in: [...filter.status] } } : {}),
    ...(filter.repository ? { repository: filter.repository.trim() } : {}),
    ...(filter.creatorId ? { creatorId: parseId(filter.creatorId, 'filter.creatorId') } : {}),
    ...(filter.createdAfter || filter.createdBefore
      ? {
          createdAt: {
            ...(filter.createdAfter ? { gte: filter.createdAfter } : {}),
            ...(filter.createdBefore ? { lt: filter.createdBefore } : {}),
          },
        }
      : {}),
  };
}

/** True when a task matches a filter (list subscriptions filter live changes with it). */
export function taskMatchesFilter(task: CodingTask, filter: TaskFilter | null | undefined): boolean {
  if (!filter) return true;
  if (filter.status && filter.status.length > 0 && !filter.status.includes(task.status)) return false;
  if (filter.repository && task.repository !== filter.repository.trim()) return false;
  if (filter.creatorId && task.creatorId !== filter.creatorId.toLowerCase()) return false;
  if (filter.createdAfter && task.createdAt < filter.createdAfter) return false;
  if (filter.createdBefore && task.createdAt >= filter.createdBefore) return false;
  return true;
}

/** A position in a sorted task list: the sort key's value and the id (the tie-breaker). */
interface TaskCursor {
  value: string;
  createdAt: string;
  id: string;
}

/** One codec per sort field: a cursor of another order is refused like a tampered one. */
const taskCursors = Object.fromEntries(
  (['CREATED_AT', 'UPDATED_AT', 'PRIORITY'] as const).map((sortField) => [
    sortField,
    createCursorCodec<TaskCursor>({
      kind: `task:${sortField}`,
      expected: 'a cursor from this connection with the same orderBy',
      toParts: (cursor) => [cursor.value, cursor.createdAt, cursor.id],
      fromParts: ([value, createdAt, id, ...rest]) => {
        const valid =
          rest.length === 0 &&
          cursorPart.instant(createdAt) !== null &&
          (sortField === 'PRIORITY' ? cursorPart.oneOf(value, PRIORITIES) : cursorPart.instant(value)) !==
            null;
        const taskId = cursorPart.uuid(id);
        return valid && taskId
          ? { value: value as string, createdAt: createdAt as string, id: taskId }
          : null;
      },
    }),
  ]),
) as Record<TaskOrder['field'], CursorCodec<TaskCursor>>;

/** Encodes an opaque cursor for `task` in `order`. */
export function encodeTaskCursor(task: CodingTask, order: TaskOrder): string {
  const value =
    order.field === 'PRIORITY'
      ? task.priority
      : order.field === 'UPDATED_AT'
        ? task.updatedAt.toISOString()
        : task.createdAt.toISOString();
  return taskCursors[order.field].encode({ value, createdAt: task.createdAt.toISOString(), id: task.id });
}

function decodeTaskCursor(cursor: string, order: TaskOrder, field: string): TaskCursor {
  return taskCursors[order.field].decode(cursor, field);
}

/**
 * Rows strictly after (`side: 'after'`) or before the cursor in `order`: a keyset condition over the sort key,
 * then creation time, then id. Priorities (an enum Prisma cannot compare) become `IN` the higher or lower ones.
 */
function keyset(order: TaskOrder, cursor: TaskCursor, side: 'after' | 'before'): Prisma.CodingTaskWhereInput {
  const ascending = (order.direction === 'ASC') === (side === 'after');
  const cmp = ascending ? 'gt' : 'lt';
  const createdAt = new Date(cursor.createdAt);
  const tie: Prisma.CodingTaskWhereInput = {
    OR: [{ createdAt: { [cmp]: createdAt } }, { createdAt, id: { [cmp]: cursor.id } }],
  };
  if (order.field === 'CREATED_AT') return tie;
  if (order.field === 'UPDATED_AT') {
    const updatedAt = new Date(cursor.value);
    return { OR: [{ updatedAt: { [cmp]: updatedAt } }, { updatedAt, ...tie }] };
  }
  const rank = PRIORITIES.indexOf(cursor.value as TaskPriority);
  const beyond = PRIORITIES.filter((_, index) => (ascending ? index > rank : index < rank));
  return { OR: [{ priority: { in: beyond } }, { priority: cursor.value as TaskPriority, ...tie }] };
}

/** Prisma `orderBy` for `order`, reversed when paging backwards. */
function orderBy(order: TaskOrder, reversed: boolean): Prisma.CodingTaskOrderByWithRelationInput[] {
  const asc = (order.direction === 'ASC') !== reversed;
  const direction = asc ? 'asc' : 'desc';
  const key: Prisma.CodingTaskOrderByWithRelationInput[] =
    order.field === 'PRIORITY'
      ? [{ priority: direction }]
      : order.field === 'UPDATED_AT'
        ? [{ updatedAt: direction }]
        : [];
  return [...key, { createdAt: direction }, { id: direction }];
}

/**
 * One page of tasks for a Relay connection (called by `resolveCursorConnection`): filtered, sorted, after and/or
 * before the given cursors, in reverse when paging backwards (`inverted`).
 */
export function findTaskPage(
  deps: Pick<OrchestrationDeps, 'prisma'>,
  options: {
    filter: TaskFilter | null | undefined;
    order: TaskOrder;
    after?: string | undefined;
    before?: string | undefined;
    limit: number;
    inverted: boolean;
  },
): Promise<CodingTask[]> {
  const conditions: Prisma.CodingTaskWhereInput[] = [taskFilterWhere(options.filter)];
  if (options.after)
    conditions.push(keyset(options.order, decodeTaskCursor(options.after, options.order, 'after'), 'after'));
  if (options.before)
    conditions.push(
      keyset(options.order, decodeTaskCursor(options.before, options.order, 'before'), 'before'),
    );
  return deps.prisma.codingTask.findMany({
    where: { AND: conditions },
    orderBy: orderBy(options.order, options.inverted),
    take: options.limit,
  });
}
