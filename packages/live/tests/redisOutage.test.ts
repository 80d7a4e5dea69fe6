import { startRedisServer, type TestRedisServer, waitFor } from '@cap/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveFeed, RedisLiveBus } from '../src/index.js';
import { seeded, subscribers } from './helpers.js';

/** Subscribers are told to re-read this often while Redis is down (short, so a test sees several ticks). */
const POLL_MS = 100;

// The live bus through a Redis outage (ADR 0012), on a private redis-server this file stops and starts.
describe('live bus through a Redis outage', () => {
  let redis: TestRedisServer;
  /** Asks the test's server about channels; fails fast while it is down and reconnects by itself. */
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 50,
    });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.[Symbol.asyncDispose]();
  });

  /** Subscribers Redis counts on `channel`; 0 while it is down. */
  function subscribersOf(channel: string): Promise<number> {
    return subscribers(admin, channel).catch(() => 0);
  }

  it('fails publish fast and resolves subscribe at once while Redis is down, for any topic, and polls each', async () => {
    await redis.stop();
    const bus = new RedisLiveBus(redis.url, {
      prefix: 'outage:',
      pollIntervalMs: POLL_MS,
      commandTimeoutMs: 300,
    });
    const random = seeded(0x11fe);
    try {
      // Generated topics: none may wait for the connection.
      for (let index = 0; index < 10; index += 1) {
        const topic = `topic-${index}-${Math.floor(random() * 2 ** 32).toString(36)}`;
        const before = Date.now();
        let gaps = 0;
        const subscription = await bus.subscribe(
          topic,
          () => undefined,
          () => (gaps += 1),
        );
        await expect(bus.publish(topic, { n: 1 })).rejects.toThrow();
        // Generous: "at once" means a command timeout, not Redis's reconnect backoff or an offline queue.
        expect(Date.now() - before).toBeLessThan(2_000);
        await waitFor(() => gaps >= 2, { message: `poll ticks on ${topic}`, intervalMs: 20 });
        await subscription.close();
      }
      await expect(bus.ping()).rejects.toThrow();
    } finally {
      await bus.close();
      await redis.start();
      // The admin client fails fast while disconnected: the next test's first count needs it back.
      await waitFor(async () => (await admin.ping().catch(() => null)) === 'PONG', {
        message: 'the admin client reconnected',
        intervalMs: 20,
      });
    }
  });

  it('resubscribes when Redis returns and sends the last gap only once the SUBSCRIBE is confirmed, then delivers live', async () => {
    const bus = new RedisLiveBus(redis.url, { prefix: 'resync:', pollIntervalMs: POLL_MS });
    const publisher = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    // It reconnects by itself after the outage; its connection errors meanwhile are expected.
    publisher.on('error', () => undefined);
    try {
      const got: unknown[] = [];
      const gapsAt: number[] = [];
      // What Redis says about the channel when each gap arrives: the last must find it subscribed.
      const subscribedAtGap: Array<Promise<number>> = [];
      await bus.subscribe(
        'topic',
        (message) => got.push(message),
        () => {
          gapsAt.push(Date.now());
          subscribedAtGap.push(subscribersOf('resync:topic'));
        },
      );
      expect(await subscribersOf('resync:topic')).toBe(1);

      await redis.stop();
      await waitFor(() => gapsAt.length >= 3, {
        message: 'gaps every poll interval while Redis is down',
        intervalMs: 20,
      });
      await redis.start();
      await waitFor(async () => (await subscribersOf('resync:topic')) === 1, {
        message: 'subscribed again',
        intervalMs: 20,
      });
      // The bus sends its last gap when it has read Redis' reply to the SUBSCRIBE, which can be after Redis
      // already counts the subscriber: wait for that gap before counting.
      await waitFor(async () => gapsAt.length > 0 && (await subscribedAtGap.at(-1)) === 1, {
        message: 'a gap sent once subscribed again',
        intervalMs: 20,
      });
      const gapsWhenBack = gapsAt.length;
      // Polling stops once subscribed: no gap for several intervals from now on.
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 5));
      expect(gapsAt.length).toBe(gapsWhenBack);
      expect(await subscribedAtGap.at(-1)).toBe(1);
      await publisher.publish('resync:topic', JSON.stringify({ live: true }));
      await waitFor(() => got.length === 1, { message: 'a live message after the outage', intervalMs: 20 });
      expect(got).toEqual([{ live: true }]);
    } finally {
      publisher.disconnect();
      await bus.close();
    }
  });

  it('queues at most one gap in a feed while Redis is down, however many poll ticks pass unread', async () => {
    const bus = new RedisLiveBus(redis.url, { prefix: 'feed:', pollIntervalMs: POLL_MS });
    try {
      const feed = await LiveFeed.open<{ n: number }>(bus, 'topic');
      await redis.stop();
      try {
        // Several ticks pass while nobody reads.
        await new Promise((resolve) => setTimeout(resolve, POLL_MS * 6));
        expect(await feed.next()).toEqual({ gap: true });
        const next = feed.next();
        const first = await Promise.race([
          next,
          new Promise((resolve) => setTimeout(() => resolve('pending'), POLL_MS * 4)),
        ]);
        // The next tick queues the next gap (the reader re-reads again); nothing piled up meanwhile.
        expect(first).toEqual({ gap: true });
      } finally {
        await redis.start();
      }
      await feed.close();
      expect(await feed.next()).toBeUndefined();
    } finally {
      await bus.close();
    }
  });
});
