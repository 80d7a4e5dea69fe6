import { interruptible, type LiveSubscription } from '@cap/live';
import type { TaskLog } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { readTaskLogs, type TaskLogLiveMessage } from './taskLogs.js';
import { ReadGate } from './readGate.js';
import { fromTaskLogWire, type TaskLogWire } from '../domain/liveMessages.js';

/** Entries read from the database per query while replaying or filling a gap. */
const PAGE = 500;
/** Recent entries a shared tail keeps in memory per task: subscribers within this distance never query. */
const DEFAULT_WINDOW = 5_000;
/** Live entries held while the hole before them is read from the database; beyond this, the tail re-reads. */
const MAX_PENDING = 20_000;
/** Database reads for log tails in flight at once per process, so readers never starve the log writers. */
const DEFAULT_READ_CONCURRENCY = 3;

/**
 * Entries a subscriber takes from memory before letting the event loop run I/O. A socket write that completes at
 * once calls back on the same tick, so without this, 200 subscribers draining a full window would hold the loop
 * for seconds and starve the log writer's own database round trips.
 */
const YIELD_EVERY = 64;

/** After a failed database read, the shared tail tries again this much later. */
const RETRY_MS = 1_000;

type TailDeps = Pick<OrchestrationDeps, 'prisma' | 'live' | 'logger'>;

/**
 * Live task logs for every subscriber of this process, one shared tail per task (ADR 0010).
 *
 * Without sharing, each subscriber held its own live subscription and read the database whenever its batches
 * crossed or it fell behind: with 200 subscribers on one busy task that was 200 queries per hole, enough to run
 * the connection pool dry and starve the worker writing the log. Now, per task and process:
 *
 * - one live subscription feeds a window of the most recent entries, contiguous by `seq` (seqs are dense:
 *   ranges are handed out under the counter row's lock and never twice). A writer publishes lines as soon as
 *   their seqs are reserved, before they are stored (ADR 0028), then `{ stored }` once they are: an entry below
 *   a published one may still be in flight, so every read from the database stops at the first missing seq and
 *   looks again on the next message;
 * - a hole before a live batch (batches of several writers crossed, or the Redis connection came back) is read
 *   from the database once, by the tail, not by each subscriber;
 * - subscribers replay older entries from the database page by page, identical reads in flight are shared
 *   (200 subscribers starting at `afterSeq: 0` send one query), and at most a few reads run at once;
 * - once a subscriber reaches the window it is served from memory and waits for the next entries.
 */
export class TaskLogTails {
  readonly #deps: TailDeps;
  readonly #tails = new Map<string, SharedTail>();
  readonly #reads: ReadGate;
  readonly #window: number;

  constructor(deps: TailDeps, options: { window?: number; readConcurrency?: number } = {}) {
    this.#deps = deps;
    this.#window = options.window ?? DEFAULT_WINDOW;
    this.#reads = new ReadGate(options.readConcurrency ?? DEFAULT_READ_CONCURRENCY);
  }

  /** Shared tails open in this process, their subscribers, and the database reads they have sent. */
  stats(): { tails: number; subscribers: number; reads: number } {
    let subscribers = 0;
    for (const tail of this.#tails.values()) subscribers += tail.readers;
    return { tails: this.#tails.size, subscribers, reads: this.#reads.count };
  }

  /**
   * A task's log from `afterSeq` on: the stored entries, then live ones as they are written, each exactly once
   * and in `seq` order, with no gap. Resolves once the live subscription is active, so nothing written from
   * then on can be missed. `return()` ends it promptly even while it waits for the next entry.
   */
  async tail(taskId: string, afterSeq: number): Promise<AsyncGenerator<TaskLog>> {
    let shared = this.#tails.get(taskId);
    if (!shared) {
      shared = new SharedTail(taskId, this.#deps, this.#reads, this.#window, () =>
        this.#tails.delete(taskId),
      );
      this.#tails.set(taskId, shared);
    }
    const reader = await shared.attach();
    const generator = read(shared, reader, afterSeq);
    return interruptible(generator, async () => {
      reader.abort();
    });
  }
}

/** One subscriber's handle on a shared tail: aborting it wakes and ends its generator. */
interface Reader {
  readonly isAborted: boolean;
  abort(): void;
  /**
   * Resolves when `changed` settles or the reader is aborted. One pending wait at a time, replaced on each call:
   * racing against a long-lived "aborted" promise instead would add a reaction to it on every wait.
   */
  wait(changed: Promise<void>): Promise<void>;
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function* read(shared: SharedTail, reader: Reader, afterSeq: number): AsyncGenerator<TaskLog> {
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

class SharedTail {
  readonly #taskId: string;
  readonly #deps: TailDeps;
  readonly #reads: ReadGate;
  readonly #capacity: number;
  readonly #onIdle: () => void;
  /** Recent entries, contiguous: `#entries[i].seq === #low + 1 + i`. */
  #entries: TaskLog[] = [];
  /** Every entry up to `#high` is stored; `(#low, #high]` is in memory. Undefined until the first live entry. */
  #low = 0;
  #high: number | undefined;
  /** Live entries beyond a hole, by seq, until the hole is read from the database. */
  readonly #pending = new Map<number, TaskLog>();
  #filling = false;
  #refill = false;
  #subscription: Promise<LiveSubscription> | undefined;
  #readers = 0;
  #closed = false;
  #wake!: () => void;
  /** Settles whenever the window advances or a gap is noticed; replaced on each. */
  changed: Promise<void>;
  /** Identical stored reads in flight, shared by the subscribers that ask for them. */
  readonly #inFlight = new Map<string, Promise<TaskLog[]>>();

  constructor(taskId: string, deps: TailDeps, reads: ReadGate, capacity: number, onIdle: () => void) {
    this.#taskId = taskId;
    this.#deps = deps;
    this.#reads = reads;
    this.#capacity = capacity;
    this.#onIdle = onIdle;
    this.changed = this.#nextChange();
  }

  /** Subscribers attached. */
  get readers(): number {
    return this.#readers;
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.changed = this.#nextChange();
    wake();
  }

  /** Registers a subscriber; resolves once the live subscription is active. */
  async attach(): Promise<Reader> {
    this.#readers += 1;
    this.#subscription ??= this.#deps.live.subscribe(
      LiveTopic.taskLogs(this.#taskId),
      (message) => {
        const live = message as TaskLogLiveMessage;
        if ('entries' in live) this.#onBatch(live.entries);
        else this.#onStored();
      },
      () => this.#onGap(),
    );
    try {
      await this.#subscription;
    } catch (error) {
      this.#detach();
      throw error;
    }
    let aborted = false;
    let wake: (() => void) | undefined;
    return {
      get isAborted() {
        return aborted;
      },
      abort: () => {
        if (aborted) return;
        aborted = true;
        wake?.();
        wake = undefined;
        this.#detach();
      },
      wait: (changed) => {
        if (aborted) return Promise.resolve();
        return new Promise<void>((resolve) => {
          wake = resolve;
          void changed.then(resolve);
        });
      },
    };
  }

  #detach(): void {
    this.#readers -= 1;
    if (this.#readers > 0 || this.#closed) return;
    this.#closed = true;
    this.#onIdle();
    this.#notify();
    const subscription = this.#subscription;
    void subscription?.then((active) => active.close()).catch(() => undefined);
  }

  /**
   * The entries after `last` held in memory, `[]` when `last` is at (or past) the newest one, or `'behind'`
   * when `last` is older than the window, or there is no window yet.
   */
  windowAfter(last: number): TaskLog[] | 'behind' {
    if (this.#high === undefined || last < this.#low) return 'behind';
    if (last >= this.#high) return [];
    return this.#entries.slice(last - this.#low);
  }

  /** Stored entries after `last` (at most a page), never beyond the window's start once there is one. */
  readStored(last: number): Promise<TaskLog[]> {
    const before = this.#high === undefined ? undefined : this.#low + 1;
    const key = `${last}:${before ?? ''}`;
    let read = this.#inFlight.get(key);
    if (!read) {
      read = this.#reads.run(() => readTaskLogs(this.#deps, this.#taskId, last, PAGE, before));
      this.#inFlight.set(key, read);
      const forget = (): void => {
        this.#inFlight.delete(key);
      };
      read.then(forget, forget);
    }
    return read;
  }

  #onBatch(wires: TaskLogWire[]): void {
    if (this.#closed) return;
    if (this.#high === undefined && wires.length > 0) {
      // The first live entry starts the window; everything below it is stored already.
      const first = Math.min(...wires.map((wire) => wire.seq));
      this.#low = first - 1;
      this.#high = first - 1;
    }
    const high = this.#high!;
    for (const wire of wires) {
      if (wire.seq > high && !this.#pending.has(wire.seq)) this.#pending.set(wire.seq, fromTaskLogWire(wire));
    }
    if (this.#pending.size > MAX_PENDING) {
      // A hole that long is cheaper to read from the database than to hold: drop what waits and re-read.
      this.#pending.clear();
      this.#refill = true;
    }
    this.#advance();
  }

  /** A writer stored what it had published: readers and fills waiting on a hole in the database look again. */
  #onStored(): void {
    if (this.#closed) return;
    this.#advance();
    this.#notify();
  }

  #onGap(): void {
    if (this.#closed) return;
    // Live entries may have been missed: read everything stored after the window. Without a window yet,
    // subscribers waiting at the end of what they read re-read it themselves.
    if (this.#high !== undefined) this.#refill = true;
    this.#advance();
    this.#notify();
  }

  /** Moves pending entries into the window while contiguous, and reads the hole before the rest. */
  #advance(): void {
    let moved = false;
    for (let next = this.#pending.get(this.#high! + 1); next; next = this.#pending.get(this.#high! + 1)) {
      this.#pending.delete(next.seq);
      this.#append(next);
      moved = true;
    }
    if (moved) this.#notify();
    if ((this.#pending.size > 0 || this.#refill) && !this.#filling) void this.#fill();
  }

  #append(entry: TaskLog): void {
    this.#entries.push(entry);
    this.#high = entry.seq;
    // Trimmed in steps, not per entry: copying the window on every append would cost O(window) per line.
    const excess = this.#entries.length - this.#capacity;
    if (excess >= Math.max(1, this.#capacity >> 3)) {
      this.#entries = this.#entries.slice(excess);
      this.#low += excess;
    }
  }

  /** Reads the stored entries of the hole before the pending ones (or after the window, on a refill). */
  async #fill(): Promise<void> {
    this.#filling = true;
    try {
      while (!this.#closed && (this.#pending.size > 0 || this.#refill)) {
        const refill = this.#refill;
        this.#refill = false;
        const before = refill ? undefined : Math.min(...this.#pending.keys());
        for (;;) {
          const page = await this.#reads.run(() =>
            readTaskLogs(this.#deps, this.#taskId, this.#high!, PAGE, before),
          );
          if (this.#closed) return;
          const high = this.#high!;
          for (const entry of page) {
            if (entry.seq !== this.#high! + 1) break; // seqs are dense: never happens, but never loop on it
            this.#pending.delete(entry.seq);
            this.#append(entry);
          }
          if (this.#high !== high) this.#notify();
          if (page.length < PAGE || this.#high === high) break;
        }
        const high = this.#high!;
        for (let next = this.#pending.get(this.#high! + 1); next; next = this.#pending.get(this.#high! + 1)) {
          this.#pending.delete(next.seq);
          this.#append(next);
        }
        if (this.#high !== high) this.#notify();
        // Pending entries the fill read past are already in the window.
        for (const seq of this.#pending.keys()) if (seq <= this.#high!) this.#pending.delete(seq);
        if (this.#pending.size > 0 && Math.min(...this.#pending.keys()) === before) {
          // The hole is published and not stored yet: the writer's `{ stored }` message calls `#advance` again.
          // A fallback read, in case that message is lost (the bus is a hint).
          setTimeout(() => {
            if (!this.#closed) this.#advance();
          }, RETRY_MS).unref();
          return;
        }
      }
    } catch (error) {
      // Subscribers beyond the window wait meanwhile; nothing is skipped.
      this.#deps.logger.warn(
        { err: error, taskId: this.#taskId },
        'reading task log entries for live subscribers failed; retrying',
      );
      this.#refill = true;
      setTimeout(() => {
        if (!this.#closed) this.#advance();
      }, RETRY_MS).unref();
    } finally {
      this.#filling = false;
    }
  }
}
