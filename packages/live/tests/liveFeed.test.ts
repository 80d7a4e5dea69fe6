import { describe, expect, it } from 'vitest';
import { AsyncQueue, interruptible, LiveFeed, MemoryLiveBus, type LiveItem } from '../src/index.js';
import { seeded } from './helpers.js';

/** Lets the in-memory bus deliver what was published (it delivers on a later tick). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LiveFeed', () => {
  it('keeps order and follows every dropped message with a gap, for generated publish and read interleavings', async () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      const random = seeded(seed);
      const bus = new MemoryLiveBus();
      const maxBuffered = 1 + Math.floor(random() * 8);
      const feed = await LiveFeed.open<{ n: number }>(bus, 'topic', { maxBuffered });
      const read: Array<LiveItem<{ n: number }>> = [];
      // One next() at a time: an abandoned one would still take the next item.
      let pending: Promise<LiveItem<{ n: number }> | undefined> | null = null;
      const readBuffered = async (limit: number): Promise<void> => {
        for (let count = 0; count < limit; count += 1) {
          pending ??= feed.next();
          const item = await Promise.race([pending, settle().then(() => 'empty' as const)]);
          if (item === 'empty') return;
          pending = null;
          if (item) read.push(item);
        }
      };
      let published = 0;
      for (let step = 0; step < 200; step += 1) {
        if (random() < 0.6) {
          published += 1;
          await bus.publish('topic', { n: published });
          await settle();
        } else {
          await readBuffered(Math.floor(random() * 4));
        }
      }
      await readBuffered(Number.MAX_SAFE_INTEGER);
      await feed.close();
      const context = `seed ${seed}, maxBuffered ${maxBuffered}`;
      const messages = read.flatMap((item) => ('message' in item ? [item.message.n] : []));
      // In order, and the newest is always delivered.
      for (let index = 1; index < messages.length; index += 1)
        expect(messages[index]!, context).toBeGreaterThan(messages[index - 1]!);
      expect(messages.at(-1), context).toBe(published);
      // A message that was dropped (never read) is followed by a gap somewhere after the last message read
      // before it, so a reader re-reading on gaps misses nothing.
      let position = -1;
      let last = 0;
      for (const [index, item] of read.entries()) {
        if (!('message' in item)) continue;
        if (item.message.n !== last + 1) {
          const gapAfter = read.findIndex((candidate, at) => at > position && 'gap' in candidate);
          expect(
            gapAfter,
            `${context}: messages ${last + 1}..${item.message.n - 1} dropped without a gap`,
          ).toBeGreaterThan(position);
        }
        last = item.message.n;
        position = index;
      }
    }
  });

  it('buffers at most maxBuffered messages (plus one gap) for a reader that does not read', async () => {
    const bus = new MemoryLiveBus();
    const feed = await LiveFeed.open<{ n: number }>(bus, 'topic', { maxBuffered: 5 });
    for (let n = 1; n <= 100; n += 1) await bus.publish('topic', { n });
    await settle();
    const items: Array<LiveItem<{ n: number }>> = [];
    let pending: Promise<LiveItem<{ n: number }> | undefined> | null = null;
    for (;;) {
      pending ??= feed.next();
      const item = await Promise.race([pending, settle().then(() => 'empty' as const)]);
      if (item === 'empty' || !item) break;
      pending = null;
      items.push(item);
    }
    expect(items.length).toBeLessThanOrEqual(6);
    expect(items.filter((item) => 'gap' in item)).toEqual([{ gap: true }]);
    expect(items.at(-1)).toEqual({ message: { n: 100 } });
    await feed.close();
  });

  it('ends a reader waiting on a quiet topic promptly when its generator is returned, and unsubscribes', async () => {
    const bus = new MemoryLiveBus();
    const feed = await LiveFeed.open<{ n: number }>(bus, 'quiet');
    let finalized = false;
    async function* run(): AsyncGenerator<number> {
      try {
        for (;;) {
          const item = await feed.next();
          if (!item) return;
          if ('message' in item) yield item.message.n;
        }
      } finally {
        finalized = true;
      }
    }
    const generator = interruptible(run(), () => feed.close());
    const pending = generator.next();
    await settle();
    expect(await generator.return(undefined)).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(finalized).toBe(true);
    // Nothing is delivered to the closed feed.
    await bus.publish('quiet', { n: 1 });
    expect(await feed.next()).toBeUndefined();
  });
});

describe('AsyncQueue', () => {
  it('drops the oldest items beyond its capacity and counts them', async () => {
    let closed = 0;
    const queue = new AsyncQueue<number>({ capacity: 3, onClose: () => void (closed += 1) });
    for (let n = 1; n <= 10; n += 1) queue.push(n);
    expect(queue.dropped).toBe(7);
    const values: number[] = [];
    for (let index = 0; index < 3; index += 1) values.push((await queue.next()).value as number);
    expect(values).toEqual([8, 9, 10]);
    await queue.close();
    await queue.close();
    expect(closed).toBe(1);
  });

  it('completes a consumer waiting for the next item at once when returned', async () => {
    let closed = false;
    const queue = new AsyncQueue<number>({ capacity: 10, onClose: () => void (closed = true) });
    const waiting = queue.next();
    await queue.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(closed).toBe(true);
    queue.push(1);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });
});
