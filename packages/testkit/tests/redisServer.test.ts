import { RedisKeyValueStore } from '@cap/runtime';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../src/redisServer.js';

describe('private test redis-server', () => {
  it('stops and starts again on the same port, empty, and is released on dispose', async () => {
    let url: string;
    {
      await using redis = await startRedisServer();
      url = redis.url;
      const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
      client.on('error', () => undefined);
      try {
        await client.set('k', 'v');
        expect(await redis.commandsProcessed()).toBeGreaterThan(0);
        await redis.stop();
        expect(redis.running).toBe(false);
        await expect(client.get('k')).rejects.toThrow();
        await redis.start();
        expect(redis.url).toBe(url);
        // Nothing persisted (--save '' --appendonly no): a restart comes back empty.
        const deadline = Date.now() + 10_000;
        while (client.status !== 'ready' && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(await client.get('k')).toBeNull();
      } finally {
        client.disconnect();
      }
    }
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
  });
});

describe('Redis key-value store (@cap/runtime) while Redis is down', () => {
  it('fails every call at once instead of queueing it, and recovers when Redis returns', async () => {
    await using redis = await startRedisServer();
    const store = new RedisKeyValueStore(redis.url, { keyPrefix: 'kv-test:', commandTimeoutMs: 300 });
    try {
      await store.set('k', 'v', 60_000);
      expect(await store.get('k')).toBe('v');
      await redis.stop();
      for (const call of [
        () => store.get('k'),
        () => store.set('k', 'w', 1_000),
        () => store.del('k'),
        () => store.hit('h', 1_000),
        () => store.ping(),
      ]) {
        const started = performance.now();
        await expect(call()).rejects.toThrow();
        // Generous: the old store waited seconds (retries and reconnect backoff) per call.
        expect(performance.now() - started).toBeLessThan(1_000);
      }
      // The client notices the dropped connection on its own schedule; it must not claim to be available for long.
      const noticed = Date.now() + 5_000;
      while (store.available && Date.now() < noticed) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(store.available).toBe(false);
      await redis.start();
      const deadline = Date.now() + 10_000;
      while (
        !(await store.ping().then(
          () => true,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error('the store did not reconnect');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await store.hit('h', 1_000)).toMatchObject({ count: 1 });
    } finally {
      await store.close();
    }
  });
});
