import type { TaskLog } from '../generated/prisma/client.js';
import { PAGE, type Reader, type SharedTail, type TaskLogBatch } from './sharedTaskLogTail.js';

/**
 * Entries a subscriber takes from memory before letting the event loop run I/O. A socket write that completes at
 * once calls back on the same tick, so without this, 200 subscribers draining a full window would hold the loop
 * for seconds and starve the log writer's own database round trips.
 */
const YIELD_EVERY = 64;

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One subscriber's entries from `afterSeq` on, one at a time (the `taskLogs` subscription). */
export async function* read(shared: SharedTail, reader: Reader, afterSeq: number): AsyncGenerator<TaskLog> {
  let last = afterSeq;
  let sinceYield = 0;
  try {
    for (;;) {
      if (reader.isAborted) return;
      // Read the version before looking, so an entry arriving while we look wakes the wait below.
      const changed = shared.changed;
      const window = shared.windowAfter(last);
      if (window === 'behind') {
        // Older than the window (or no window yet): the database, a page at a time.
        const page = await shared.readStored(last);
        if (reader.isAborted) return;
        let dense = true;
        for (const entry of page) {
          if (entry.seq <= last) continue;
          // A missing seq is published and not stored yet (or lost with its worker, until recovery fills it):
          // never skipped, waited for.
          if (entry.seq !== last + 1) {
            dense = false;
            break;
          }
          last = entry.seq;
          yield entry;
          if (++sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            await macrotask();
          }
        }
        if (dense && page.length === PAGE) continue;
        // Caught up with what is stored; if the window has moved on meanwhile, take it from there.
        if (shared.windowAfter(last) !== 'behind' || shared.changed !== changed) continue;
      } else if (window.length > 0) {
        for (const entry of window) {
          last = entry.seq;
          yield entry;
          if (reader.isAborted) return;
          if (++sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            await macrotask();
          }
        }
        continue;
      }
      await reader.wait(changed);
    }
  } finally {
    reader.abort();
  }
}

/**
 * One subscriber's entries from `afterSeq` on, in batches of at most `max` (the `taskLogBatches` subscription):
 * each pull takes whatever is ready after the last entry it gave, so a subscriber that keeps up gets small
 * batches at once (never waiting to fill one) and one that fell behind gets large ones instead of a queue of
 * events. Same order, density and gap handling as {@link read}: a batch is contiguous and follows the last one.
 */
export async function* readBatches(
  shared: SharedTail,
  reader: Reader,
  afterSeq: number,
  max: number,
): AsyncGenerator<TaskLogBatch> {
  let last = afterSeq;
  let sinceYield = 0;
  try {
    for (;;) {
      if (reader.isAborted) return;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await macrotask();
        if (reader.isAborted) return;
      }
      const changed = shared.changed;
      const window = shared.windowBatch(last, max);
      if (window === 'behind') {
        const page = await shared.readStored(last);
        if (reader.isAborted) return;
        // The dense run after `last` (a missing seq is published and not stored yet: waited for, never skipped).
        let start = page.findIndex((entry) => entry.seq > last);
        let dense = start >= 0 && page[start]!.seq === last + 1;
        while (dense && start < page.length) {
          let end = start + 1;
          while (end < page.length && end - start < max && page[end]!.seq === page[end - 1]!.seq + 1)
            end += 1;
          const from = start;
          const batch = shared.batchOf('stored', page[from]!.seq, page[end - 1]!.seq, () =>
            page.slice(from, end),
          );
          last = batch.lastSeq;
          yield batch;
          if (reader.isAborted) return;
          sinceYield += batch.entries.length;
          if (end < page.length && page[end]!.seq !== last + 1) dense = false;
          start = end;
        }
        if (dense && page.length === PAGE) continue;
        if (shared.windowAfter(last) !== 'behind' || shared.changed !== changed) continue;
      } else if (window) {
        last = window.lastSeq;
        yield window;
        sinceYield += window.entries.length;
        continue;
      }
      await reader.wait(changed);
    }
  } finally {
    reader.abort();
  }
}
