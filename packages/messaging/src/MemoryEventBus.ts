import { backoffDelay, sleep } from './backoff.js';
import { MessagingError, MessagingErrorCode } from './errors.js';
import type { BusRecord, BusSubscription, EventBus, SubscribeOptions } from './EventBus.js';
import { assertValidRecords } from './EventBus.js';
import { describeError, silentLogger, type Logger } from './logger.js';

export interface MemoryEventBusOptions {
  /** Partitions per topic (default 3, like the dev broker). Records are spread by a hash of their key. */
  partitions?: number;
  /** First redelivery delay after a handler rejection (default 20 ms); doubles per failure. */
  redeliveryDelayMs?: number;
  /** Cap of the redelivery delay (default 1_000 ms). */
  maxRedeliveryDelayMs?: number;
  logger?: Logger;
}

interface Member {
  groupId: string;
  topics: ReadonlySet<string>;
  handler: (record: BusRecord) => Promise<void>;
  /** Aborted when the member leaves, to cut a redelivery wait short. */
  left: AbortController;
  inflight: Set<Promise<void>>;
}

/** A group's position in one partition, like a committed Kafka offset, plus who currently owns it. */
interface Cursor {
  topic: string;
  partition: number;
  offset: number;
  owner: Member | undefined;
  pumping: Promise<void> | undefined;
}

interface Group {
  members: Member[];
  cursors: Map<string, Cursor>;
}

/**
 * An in-process {@link EventBus} with Kafka's delivery semantics, for unit tests and single-process
 * development: topics are partitioned by key hash; each consumer group receives every record once
 * (members of a group split the partitions, rebalanced on join and leave); within a partition records are
 * handled one at a time in order; a rejected handler call is redelivered, never skipped. Records are kept
 * for the life of the bus, so a group joining `fromBeginning` sees history.
 */
export class MemoryEventBus implements EventBus {
  readonly #partitions: number;
  readonly #redelivery: { baseDelayMs: number; factor: number; maxDelayMs: number };
  readonly #logger: Logger;
  readonly #topics = new Map<string, { partitions: BusRecord[][]; all: BusRecord[] }>();
  readonly #groups = new Map<string, Group>();
  #closed = false;

  constructor(options: MemoryEventBusOptions = {}) {
    this.#partitions = options.partitions ?? 3;
    if (!Number.isInteger(this.#partitions) || this.#partitions < 1)
      throw new RangeError('partitions must be a positive integer');
    this.#redelivery = {
      baseDelayMs: options.redeliveryDelayMs ?? 20,
      factor: 2,
      maxDelayMs: options.maxRedeliveryDelayMs ?? 1_000,
    };
    this.#logger = options.logger ?? silentLogger;
  }

  async publish(records: BusRecord[]): Promise<void> {
    this.#assertOpen();
    assertValidRecords(records);
    const touched = new Set<string>();
    for (const record of records) {
      const topic = this.#topic(record.topic);
      const partition = partitionOf(record.key, this.#partitions);
      // Copies: a caller mutating its record after publish must not change what consumers see.
      const stored = copyRecord(record);
      topic.partitions[partition]!.push(stored);
      topic.all.push(stored);
      touched.add(cursorKey(record.topic, partition));
    }
    for (const group of this.#groups.values()) {
      for (const key of touched) {
        const cursor = group.cursors.get(key);
        if (cursor) this.#pump(cursor);
      }
    }
  }

  async subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    this.#assertOpen();
    const member: Member = {
      groupId: options.groupId,
      topics: new Set(options.topics),
      handler: options.handler,
      left: new AbortController(),
      inflight: new Set(),
    };
    let group = this.#groups.get(options.groupId);
    if (!group) {
      group = { members: [], cursors: new Map() };
      this.#groups.set(options.groupId, group);
    }
    for (const name of options.topics) {
      const topic = this.#topic(name);
      for (let partition = 0; partition < this.#partitions; partition += 1) {
        const key = cursorKey(name, partition);
        // An existing cursor is the group's committed position and wins over fromBeginning, as in Kafka.
        if (!group.cursors.has(key)) {
          group.cursors.set(key, {
            topic: name,
            partition,
            offset: options.fromBeginning ? 0 : topic.partitions[partition]!.length,
            owner: undefined,
            pumping: undefined,
          });
        }
      }
    }
    group.members.push(member);
    this.#rebalance(group);
    let closing: Promise<void> | undefined;
    return { close: () => (closing ??= this.#leave(group, member)) };
  }

  async ensureTopics(topics: string[]): Promise<void> {
    this.#assertOpen();
    for (const topic of topics) this.#topic(topic);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const leaving: Promise<void>[] = [];
    for (const group of this.#groups.values()) {
      for (const member of [...group.members]) leaving.push(this.#leave(group, member));
    }
    await Promise.all(leaving);
  }

  /** Every record published to a topic so far, in publish order (copies). For assertions in tests. */
  records(topic: string): BusRecord[] {
    return (this.#topics.get(topic)?.all ?? []).map(copyRecord);
  }

  #assertOpen(): void {
    if (this.#closed) throw new MessagingError(MessagingErrorCode.BUS_CLOSED, 'The event bus is closed.');
  }

  #topic(name: string): { partitions: BusRecord[][]; all: BusRecord[] } {
    let topic = this.#topics.get(name);
    if (!topic) {
      topic = { partitions: Array.from({ length: this.#partitions }, () => []), all: [] };
      this.#topics.set(name, topic);
    }
    return topic;
  }

  /** Round-robin of each topic's partitions over the members subscribed to it, like Kafka's assignors. */
  #rebalance(group: Group): void {
    const byTopic = new Map<string, Cursor[]>();
    for (const cursor of group.cursors.values()) {
      const list = byTopic.get(cursor.topic) ?? [];
      list.push(cursor);
      byTopic.set(cursor.topic, list);
    }
    for (const [topic, cursors] of byTopic) {
      const candidates = group.members.filter((member) => member.topics.has(topic));
      cursors.sort((a, b) => a.partition - b.partition);
      cursors.forEach((cursor, index) => {
        cursor.owner = candidates.length > 0 ? candidates[index % candidates.length] : undefined;
        this.#pump(cursor);
      });
    }
  }

  async #leave(group: Group, member: Member): Promise<void> {
    const index = group.members.indexOf(member);
    if (index !== -1) group.members.splice(index, 1);
    member.left.abort();
    this.#rebalance(group);
    // Graceful: the handler call in flight finishes before close() resolves.
    await Promise.allSettled([...member.inflight]);
  }

  /** Drives one cursor: delivers its records one at a time to the partition's current owner. */
  #pump(cursor: Cursor): void {
    if (cursor.pumping) return;
    // Start on a later tick: handlers must never run inside the publisher's call (as with a real broker),
    // e.g. within the relay's claim transaction.
    cursor.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain(cursor))
      .finally(() => {
        cursor.pumping = undefined;
        // A record published while the loop was exiting would otherwise wait for the next publish.
        if (cursor.owner && cursor.offset < this.#topic(cursor.topic).partitions[cursor.partition]!.length)
          this.#pump(cursor);
      });
  }

  async #drain(cursor: Cursor): Promise<void> {
    const log = this.#topic(cursor.topic).partitions[cursor.partition]!;
    let failures = 0;
    for (;;) {
      const owner = cursor.owner;
      const stored = log[cursor.offset];
      if (!owner || stored === undefined) return;
      const delivery = invoke(owner.handler, copyRecord(stored));
      const tracked = delivery.then(noop, noop);
      owner.inflight.add(tracked);
      try {
        await delivery;
        cursor.offset += 1;
        failures = 0;
      } catch (error) {
        failures += 1;
        const delayMs = backoffDelay(failures, this.#redelivery);
        this.#logger.warn(
          {
            err: describeError(error),
            topic: cursor.topic,
            partition: cursor.partition,
            offset: cursor.offset,
            groupId: owner.groupId,
            delayMs,
          },
          'event handler failed; redelivering the record',
        );
        await sleep(delayMs, owner.left.signal);
      } finally {
        owner.inflight.delete(tracked);
      }
    }
  }
}

function noop(): void {}

/** Calls a handler, turning a synchronous throw into a rejection so both take the redelivery path. */
function invoke(handler: (record: BusRecord) => Promise<void>, record: BusRecord): Promise<void> {
  try {
    return Promise.resolve(handler(record));
  } catch (error) {
    return Promise.reject(error);
  }
}

function cursorKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function copyRecord(record: BusRecord): BusRecord {
  return { topic: record.topic, key: record.key, value: record.value, headers: { ...record.headers } };
}

/** FNV-1a: stable across runs, so the same key always lands in the same partition. */
function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < key.length; index += 1) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
