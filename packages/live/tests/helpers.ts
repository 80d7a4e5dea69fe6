import type { Redis } from 'ioredis';

/** Subscribers Redis counts on `channel` (0 while nobody is subscribed). */
export async function subscribers(redis: Redis, channel: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return count;
}

/** Kills the subscriber connections of live buses named `<name>-subscriber` (as a network failure would). */
export async function killSubscriberConnections(redis: Redis, name: string): Promise<number> {
  const ids = String(await redis.call('CLIENT', 'LIST'))
    .split('\n')
    .filter((line) => line.includes(` name=${name}-subscriber `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
  for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

/**
 * A seeded pseudo-random generator in [0, 1), so that a failure reproduces from its seed: the Park-Miller
 * minimal standard generator (plenty for choosing interleavings).
 */
export function seeded(seed: number): () => number {
  let state = (Math.abs(Math.floor(seed)) % 2_147_483_646) + 1;
  return () => (state = (state * 16_807) % 2_147_483_647) / 2_147_483_647;
}
