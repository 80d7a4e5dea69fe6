import { afterEach, describe, expect, it } from 'vitest';
import { isMessagingError, MemoryEventBus, MessagingErrorCode, type BusRecord } from '../src/index.js';
import { recordingLogger, waitFor } from './support.js';

const record = (topic: string, key: string, value: string): BusRecord => ({
  topic,
  key,
  value,
  headers: { 'event-id': value },
});

describe('MemoryEventBus', () => {
  const buses: MemoryEventBus[] = [];
  const newBus = (options?: ConstructorParameters<typeof MemoryEventBus>[0]): MemoryEventBus => {
    const bus = new MemoryEventBus(options);
    buses.push(bus);
    return bus;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
  });

  it('delivers every record once to each consumer group, with its headers', async () => {
    const bus = newBus();
    const seen: Record<string, BusRecord[]> = { a: [], b: [] };
    for (const group of ['a', 'b'] as const) {
      await bus.subscribe({
        groupId: group,
        topics: ['t.one'],
        handler: async (r) => void seen[group]!.push(r),
      });
    }
    await bus.publish(Array.from({ length: 20 }, (_, i) => record('t.one', `k${i % 4}`, `v${i}`)));
    await waitFor(() => seen['a']!.length === 20 && seen['b']!.length === 20, { message: 'both groups' });
    for (const group of ['a', 'b']) {
      expect(seen[group]!.map((r) => r.value).sort()).toEqual(
        Array.from({ length: 20 }, (_, i) => `v${i}`).sort(),
      );
    }
    expect(seen['a']![0]!.headers['event-id']).toBe(seen['a']![0]!.value);
  });

  it('splits partitions between members of one group without duplicates, in order per key', async () => {
    const bus = newBus({ partitions: 4 });
    const byMember: BusRecord[][] = [[], []];
    for (const member of [0, 1]) {
      await bus.subscribe({
        groupId: 'g',
        topics: ['t.split'],
        handler: async (r) => {
          // Yield so the two members really interleave.
          await new Promise((resolve) => setTimeout(resolve, 1));
          byMember[member]!.push(r);
        },
      });
    }
    const records = Array.from({ length: 60 }, (_, i) => record('t.split', `key-${i % 6}`, String(i)));
    await bus.publish(records);
    await waitFor(() => byMember[0]!.length + byMember[1]!.length === 60, { message: 'all records' });
    expect(byMember[0]!.length).toBeGreaterThan(0);
    expect(byMember[1]!.length).toBeGreaterThan(0);
    const all = [...byMember[0]!, ...byMember[1]!];
    expect(new Set(all.map((r) => r.value)).size).toBe(60);
    // A key belongs to one member, and that member saw its records in publish order.
    for (let key = 0; key < 6; key += 1) {
      const owners = byMember.filter((list) => list.some((r) => r.key === `key-${key}`));
      expect(owners).toHaveLength(1);
      const values = owners[0]!.filter((r) => r.key === `key-${key}`).map((r) => Number(r.value));
      expect(values).toEqual([...values].sort((a, b) => a - b));
    }
  });

  it('redelivers a record whose handler failed, and holds later records of that key back', async () => {
    const logger = recordingLogger();
    const bus = newBus({ partitions: 1, redeliveryDelayMs: 5, logger });
    const handled: string[] = [];
    let failuresLeft = 2;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t.retry'],
      handler: async (r) => {
        if (r.value === 'first' && failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('transient');
        }
        handled.push(r.value);
      },
    });
    await bus.publish([record('t.retry', 'k', 'first'), record('t.retry', 'k', 'second')]);
    await waitFor(() => handled.length === 2, { message: 'both handled' });
    expect(handled).toEqual(['first', 'second']);
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(2);
  });

  it('starts a new group at the end unless fromBeginning, and resumes a group where it left off', async () => {
    const bus = newBus();
    await bus.publish([record('t.history', 'k', 'old')]);
    const latest: string[] = [];
    const earliest: string[] = [];
    await bus.subscribe({
      groupId: 'latest',
      topics: ['t.history'],
      handler: async (r) => void latest.push(r.value),
    });
    const first = await bus.subscribe({
      groupId: 'earliest',
      topics: ['t.history'],
      fromBeginning: true,
      handler: async (r) => void earliest.push(r.value),
    });
    await bus.publish([record('t.history', 'k', 'new')]);
    await waitFor(() => latest.length === 1 && earliest.length === 2, { message: 'deliveries' });
    expect(latest).toEqual(['new']);
    expect(earliest).toEqual(['old', 'new']);

    await first.close();
    await bus.publish([record('t.history', 'k', 'while-away')]);
    await bus.subscribe({
      groupId: 'earliest',
      topics: ['t.history'],
      fromBeginning: true,
      handler: async (r) => void earliest.push(r.value),
    });
    await waitFor(() => earliest.length === 3, { message: 'resume' });
    expect(earliest).toEqual(['old', 'new', 'while-away']);
  });

  it('hands a leaving member’s partitions to the remaining one', async () => {
    const bus = newBus({ partitions: 2 });
    const a: string[] = [];
    const b: string[] = [];
    const subA = await bus.subscribe({
      groupId: 'g',
      topics: ['t.rebalance'],
      handler: async (r) => void a.push(r.value),
    });
    await bus.subscribe({
      groupId: 'g',
      topics: ['t.rebalance'],
      handler: async (r) => void b.push(r.value),
    });
    await subA.close();
    await bus.publish(Array.from({ length: 10 }, (_, i) => record('t.rebalance', `k${i}`, String(i))));
    await waitFor(() => b.length === 10, { message: 'member b takes over' });
    expect(a).toEqual([]);
  });

  it('closes gracefully: waits for the handler in flight, then refuses to publish', async () => {
    const bus = newBus();
    let release: () => void = () => {};
    let finished = false;
    let started = false;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t.close'],
      handler: async () => {
        started = true;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finished = true;
      },
    });
    await bus.publish([record('t.close', 'k', 'slow')]);
    await waitFor(() => started, { message: 'handler start' });
    const closing = bus.close();
    setTimeout(() => release(), 20);
    await closing;
    expect(finished).toBe(true);
    await expect(bus.publish([record('t.close', 'k', 'late')])).rejects.toSatisfy((error) =>
      isMessagingError(error, MessagingErrorCode.BUS_CLOSED),
    );
  });

  it('rejects malformed records with a coded error', async () => {
    const bus = newBus();
    await expect(bus.publish([{ topic: '', key: 'k', value: 'v', headers: {} }])).rejects.toSatisfy((error) =>
      isMessagingError(error, MessagingErrorCode.RECORD_INVALID),
    );
    await expect(
      bus.publish([{ topic: 't.x', key: 'k', value: 'v', headers: { n: 1 as unknown as string } }]),
    ).rejects.toThrow(/header values must be strings/);
  });
});
