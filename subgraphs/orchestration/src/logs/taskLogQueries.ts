import { createCursorCodec, cursorPart } from '@cap/runtime/kit';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import type { TaskLog } from '../generated/prisma/client.js';

/** The cursor of the `taskLogs` connection: the entry's `seq`. */
const taskLogCursor = createCursorCodec<number>({
  kind: 'taskLog',
  expected: 'a cursor from taskLogs',
  toParts: (seq) => [seq],
  fromParts: ([seq, ...rest]) => (rest.length === 0 ? cursorPart.integer(seq, 0, 9_999_999_999) : null),
});

/** Encodes the opaque cursor of a log entry. */
export function encodeTaskLogCursor(entry: Pick<TaskLog, 'seq'>): string {
  return taskLogCursor.encode(entry.seq);
}

/**
 * One page of a task's log for a Relay connection (called by `resolveCursorConnection`): entries strictly after
 * and/or before the given cursors (BAD_USER_INPUT naming `after`/`before` when one was not made by this list),
 * in `seq` order, reversed when paging backwards (`inverted`).
 */
export function findTaskLogPage(
  deps: Pick<OrchestrationDeps, 'prisma'>,
  options: {
    taskId: string;
    after?: string | undefined;
    before?: string | undefined;
    limit: number;
    inverted: boolean;
  },
): Promise<TaskLog[]> {
  const afterSeq = options.after === undefined ? undefined : taskLogCursor.decode(options.after, 'after');
  const beforeSeq = options.before === undefined ? undefined : taskLogCursor.decode(options.before, 'before');
  return deps.prisma.taskLog.findMany({
    where: {
      taskId: options.taskId,
      ...(afterSeq !== undefined || beforeSeq !== undefined
        ? {
            seq: {
              ...(afterSeq !== undefined ? { gt: afterSeq } : {}),
              ...(beforeSeq !== undefined ? { lt: beforeSeq } : {}),
            },
          }
        : {}),
    },
    orderBy: { seq: options.inverted ? 'desc' : 'asc' },
    take: options.limit,
  });
}
