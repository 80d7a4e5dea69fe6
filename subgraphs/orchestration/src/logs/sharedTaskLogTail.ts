import type { LiveSubscription } from '@cap/live';
import type { TaskLog } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { readTaskLogs, type TaskLogLiveMessage } from './taskLogs.js';
import type { ReadGate } from './readGate.js';
import { fromTaskLogWire, type TaskLogWire } from '../domain/liveMessages.js';

/** Entries read from the database per query while replaying or filling a gap. */
export const PAGE = 500;
/** Live entries held while the hole before them is read from the database; beyond this, the tail re-reads. */
const MAX_PENDING = 20_000;
/** After a failed database read, the shared tail tries again this much later. */
const RETRY_MS = 1_000;
/** Batches of entries kept per shared tail so subscribers at the same position get the very same object. */
const BATCH_MEMO_SIZE = 64;

/** What a shared tail reads and listens with. */
export type TailDeps = Pick<OrchestrationDeps, 'prisma' | 'live' | 'logger'>;

/** Contiguous entries of a task's log handed to a subscriber at once, and the `seq` of the last of them. */
export interface TaskLogBatch {
  entries: TaskLog[];
  lastSeq: number;
}

/** One subscriber's handle on a shared tail: aborting it wakes and ends its generator. */
export interface Reader {
  readonly isAborted: boolean;
  abort(): void;
  /**
   * Resolves when `changed` settles or the reader is aborted. One pending wait at a time, replaced on each call:
   * racing against a long-lived "aborted" promise instead would add a reaction to it on every wait.
   */
  wait(changed: Promise<void>): Promise<void>;
}

/** One task's live log in this process, shared by its subscribers (see `TaskLogTails`, ADR 0010). */
export class SharedTail {
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
  /** The one fallback read waiting for a hole that is published and not stored yet (never one per live batch). */
  #retry: NodeJS.Timeout | undefined;
  #subscription: Promise<LiveSubscription> | undefined;
  #readers = 0;
  #closed = false;
  #wake!: () => void;
  /** Settles whenever the window advances or a gap is noticed; replaced on each. */
  changed: Promise<void>;
  /** Identical stored reads in flight, shared by the subscribers that ask for them. */
  readonly #inFlight = new Map<string, Promise<TaskLog[]>>();
  /** Recent batches by source and range, oldest first (see {@link batchOf}). */
  readonly #batches = new Map<string, TaskLogBatch>();

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
    clearTimeout(this.#retry);
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

  /**
   * The entries after `last` held in memory as one batch of at most `max`, `null` when `last` is at (or past) the
   * newest one, or `'behind'` as in {@link windowAfter}. Subscribers asking at the same position get the very
   * same batch object, so the subgraph executes it once per operation and identity (ADR 0021).
   */
  windowBatch(last: number, max: number): TaskLogBatch | null | 'behind' {
    if (this.#high === undefined || last < this.#low) return 'behind';
    if (last >= this.#high) return null;
    const to = Math.min(this.#high, last + max);
    const low = this.#low;
    return this.batchOf('window', last + 1, to, () => this.#entries.slice(last - low, to - low));
  }

  /**
   * The batch of the entries `from..to` (contiguous; `make` lists them) read from `source`: one object per range
   * and source among the recent ones, shared by the subscribers that receive it.
   */
  batchOf(source: 'window' | 'stored', from: number, to: number, make: () => TaskLog[]): TaskLogBatch {
    const key = `${source}:${from}:${to}`;
    let batch = this.#batches.get(key);
    if (!batch) {
      batch = { entries: make(), lastSeq: to };
      this.#batches.set(key, batch);
      if (this.#batches.size > BATCH_MEMO_SIZE) this.#batches.delete(this.#batches.keys().next().value!);
    }
    return batch;
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
          this.#retryLater();
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
      this.#retryLater();
    } finally {
      this.#filling = false;
    }
  }

  /**
   * Reads again after `RETRY_MS` unless a read is already due: live batches that keep arriving while a hole stays
   * unstored (a writer that died between publishing and storing) must not each start a read of their own.
   */
  #retryLater(): void {
    if (this.#retry !== undefined || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (!this.#closed) this.#advance();
    }, RETRY_MS);
    this.#retry.unref();
  }
}
