import { randomUUID } from 'node:crypto';
import { waitFor } from '@cap/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLiveBus, MemoryLiveBus, RedisLiveBus, type LiveBus } from '../src/index.js';
import { killSubscriberConnections, subscribers } from './helpers.js';

const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const admin = new Redis(REDIS_URL);
afterAll(() => admin.disconnect());

/**
 * A connected command connection as services configure theirs: fail fast (so nothing may be sent before it is
 * connected), a key prefix (which channels must ignore).
 */
async function commandConnection(): Promise<Redis> {
  const connection = new Redis(REDIS_URL, {
    keyPrefix: `test:${randomUUID()}:kv:`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
  });
  if (connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
  return connection;
}

describe('Redis live bus', () => {
  it('fans a message out to every subscriber on every instance, in order, once per subscription, as JSON values', async () => {
    const prefix = `test:${randomUUID()}:`;
    const shared = await commandConnection();
    // One bus owning its connections, one publishing on a service's connection: both reach each other.
    const one = new RedisLiveBus(REDIS_URL, { prefix });
    const two = new RedisLiveBus(shared, { prefix });
    try {
      const got: Record<string, unknown[]> = { a: [], b: [], c: [] };
      const subscriptions = [
        await one.subscribe('topic', (message) => got['a']!.push(message)),
        await two.subscribe('topic', (message) => got['b']!.push(message)),
        await two.subscribe('topic', (message) => got['c']!.push(message)),
      ];
      // One SUBSCRIBE per instance, however many subscribers it has; the key prefix is not applied to channels.
      expect(await subscribers(admin, `${prefix}topic`)).toBe(2);
      for (let n = 0; n < 20; n += 1)
        await (n % 2 === 0 ? one : two).publish('topic', { n, at: new Date(0) });
      await waitFor(() => Object.values(got).every((messages) => messages.length === 20), {
        message: '20 messages each',
        intervalMs: 20,
      });
      const expected = Array.from({ length: 20 }, (_, n) => ({ n, at: '1970-01-01T00:00:00.000Z' }));
      for (const messages of Object.values(got)) expect(messages).toEqual(expected);
      for (const subscription of subscriptions) await subscription.close();
      await waitFor(async () => (await subscribers(admin, `${prefix}topic`)) === 0, {
        message: 'unsubscribed',
        intervalMs: 20,
      });
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
    // Closing a bus leaves the connection it was given to its owner.
    expect(shared.status).toBe('ready');
    await shared.quit();
  });

  it('names its connections after the prefix, or the given name, so operators can find them', async () => {
    const prefix = `test:${randomUUID()}:`;
    const owned = new RedisLiveBus(REDIS_URL, { prefix });
    const shared = await commandConnection();
    const named = new RedisLiveBus(shared, { prefix: `${prefix}x:`, connectionName: `${prefix}named` });
    try {
      await owned.subscribe('topic', () => undefined);
      await named.subscribe('topic', () => undefined);
      const names = String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .map((line) => / name=(\S*)/.exec(line)?.[1])
        .filter((name) => name?.startsWith(prefix))
        .sort();
      expect(names).toEqual([
        `${prefix}live-publisher`,
        `${prefix}live-subscriber`,
        `${prefix}named-subscriber`,
      ]);
    } finally {
      await Promise.all([owned.close(), named.close()]);
      await shared.quit();
    }
  });

  it('reports a gap when its subscriber connection drops, and delivers live again after resubscribing', async () => {
    const prefix = `test:${randomUUID()}:`;
    const bus = new RedisLiveBus(REDIS_URL, { prefix, pollIntervalMs: 100 });
    try {
      const got: unknown[] = [];
      let gaps = 0;
      let withoutGap = 0;
      await bus.subscribe(
        'topic',
        (message) => got.push(message),
        () => (gaps += 1),
      );
      await bus.subscribe('topic', () => (withoutGap += 1));
      expect(await killSubscriberConnections(admin, `${prefix}live`)).toBe(1);
      await waitFor(() => gaps >= 1, { message: 'a gap notice', intervalMs: 20 });
      await waitFor(async () => (await subscribers(admin, `${prefix}topic`)) === 1, {
        message: 'resubscribed',
        intervalMs: 20,
      });
      await bus.publish('topic', { after: true });
      await waitFor(() => got.length === 1 && withoutGap === 1, {
        message: 'delivery after the reconnect',
        intervalMs: 20,
      });
      expect(got).toEqual([{ after: true }]);
    } finally {
      await bus.close();
    }
  });

  it('refuses subscriptions once closed, and closes idempotently', async () => {
    for (const bus of [
      new RedisLiveBus(REDIS_URL, { prefix: `test:${randomUUID()}:` }),
      new MemoryLiveBus(),
    ] as LiveBus[]) {
      await bus.close();
      await bus.close();
      if (bus.kind === 'redis')
        await expect(bus.subscribe('topic', () => undefined)).rejects.toThrow(/closed/);
    }
  });

  it('is chosen by createLiveBus: Redis with a URL or a connection, in process without', async () => {
    const shared = await commandConnection();
    const buses = [
      createLiveBus({ redis: REDIS_URL, prefix: `test:${randomUUID()}:` }),
      createLiveBus({ redis: shared, prefix: `test:${randomUUID()}:` }),
      createLiveBus({ redis: undefined, prefix: 'ignored:' }),
    ];
    try {
      expect(buses.map((bus) => bus.kind)).toEqual(['redis', 'redis', 'memory']);
      // A new bus fails fast until its connection is up (nothing waits for Redis), then answers.
      for (const bus of buses)
        await waitFor(async () => (await bus.ping().catch(() => -1)) >= 0, {
          message: `${bus.kind} ping`,
          intervalMs: 20,
        });
    } finally {
      await Promise.all(buses.map((bus) => bus.close()));
      await shared.quit();
    }
  });
});

describe('in-memory live bus', () => {
  it('delivers JSON values on a later tick, per subscription, shared by subscribers, nothing after close', async () => {
    const bus = new MemoryLiveBus();
    const a: unknown[] = [];
    const b: unknown[] = [];
    const handler = (message: unknown): number => a.push(message);
    const first = await bus.subscribe('topic', handler);
    const second = await bus.subscribe('topic', handler);
    await bus.subscribe('topic', (message) => b.push(message));
    await bus.subscribe('other', () => {
      throw new Error('a failing subscriber of another topic');
    });
    const publishing = bus.publish('topic', { date: new Date(0) });
    // A publisher never runs subscriber code inline.
    expect(a).toHaveLength(0);
    await publishing;
    expect(a).toEqual([{ date: '1970-01-01T00:00:00.000Z' }, { date: '1970-01-01T00:00:00.000Z' }]);
    expect(b[0]).toBe(a[0]);
    await first.close();
    await second.close();
    await second.close();
    await bus.publish('topic', { n: 2 });
    await bus.publish('other', { n: 3 });
    expect(a).toHaveLength(2);
    expect(b).toEqual([{ date: '1970-01-01T00:00:00.000Z' }, { n: 2 }]);
    await bus.close();
  });

  it('skips a subscriber that left between publish and delivery', async () => {
    const bus = new MemoryLiveBus();
    const got: unknown[] = [];
    const subscription = await bus.subscribe('topic', (message) => got.push(message));
    const publishing = bus.publish('topic', { n: 1 });
    void subscription.close();
    await publishing;
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toEqual([]);
  });
});
