import type { Redis } from 'ioredis';

/** A member of an {@link EphemeralSet} and when it lapses (ms since the epoch). */
export interface EphemeralMember {
  member: string;
  expiresAt: number;
}

/**
 * Sets whose members expire on their own: who is typing in a conversation (seconds), who is online in it
 * (tens of seconds). Shared by every instance through Redis, or in-process without it.
 */
export interface EphemeralSet {
  readonly kind: 'redis' | 'memory';
  /** Adds `member` to `key` (or extends it) until now + `ttlMs`; `added` is false when it was already live. */
  touch(key: string, member: string, ttlMs: number): Promise<{ added: boolean; expiresAt: number }>;
  /** Removes `member`; true when it was live. */
  remove(key: string, member: string): Promise<boolean>;
  /** The live members of `key`. */
  members(key: string): Promise<EphemeralMember[]>;
  /** The live members of each of `keys`, in their order, in one round trip (one command on Redis). */
  membersOfMany(keys: readonly string[]): Promise<EphemeralMember[][]>;
}

// A sorted set scored by expiry: stale members are trimmed on every call, and the key itself expires with its
// last member, so nothing outlives its TTL.
const TOUCH = `
local now = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local existing = redis.call('ZSCORE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[1], expires, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2])))
if existing then return 0 end
return 1
`;

const REMOVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[2])
`;

// Every key's live members in one command: a list of conversations asks for its presence in one round trip.
const MEMBERS_OF_MANY = `
local bound = '(' .. ARGV[1]
local result = {}
for index, key in ipairs(KEYS) do
  result[index] = redis.call('ZRANGEBYSCORE', key, bound, '+inf', 'WITHSCORES')
end
return result
`;

type EphemeralCommands = {
  chatEphemeralTouch(key: string, now: number, expiresAt: number, member: string): Promise<number>;
  chatEphemeralRemove(key: string, now: number, member: string): Promise<number>;
  chatEphemeralMembersOfMany(
    numberOfKeys: number,
    ...keysThenNow: Array<string | number>
  ): Promise<string[][]>;
};

/** Redis sorted sets (keys under the connection's key prefix). */
export class RedisEphemeralSet implements EphemeralSet {
  readonly kind = 'redis';
  readonly #redis: Redis & EphemeralCommands;

  constructor(redis: Redis) {
    redis.defineCommand('chatEphemeralTouch', { numberOfKeys: 1, lua: TOUCH });
    redis.defineCommand('chatEphemeralRemove', { numberOfKeys: 1, lua: REMOVE });
    // The number of keys is passed per call (ioredis then still prefixes each key).
    redis.defineCommand('chatEphemeralMembersOfMany', { lua: MEMBERS_OF_MANY });
    this.#redis = redis as Redis & EphemeralCommands;
  }

  async touch(key: string, member: string, ttlMs: number): Promise<{ added: boolean; expiresAt: number }> {
    const now = Date.now();
    const expiresAt = now + ttlMs;
    const added = await this.#redis.chatEphemeralTouch(`eph:${key}`, now, expiresAt, member);
    return { added: added === 1, expiresAt };
  }

  async remove(key: string, member: string): Promise<boolean> {
    return (await this.#redis.chatEphemeralRemove(`eph:${key}`, Date.now(), member)) === 1;
  }

  async members(key: string): Promise<EphemeralMember[]> {
    return pairs(await this.#redis.zrangebyscore(`eph:${key}`, `(${Date.now()}`, '+inf', 'WITHSCORES'));
  }

  async membersOfMany(keys: readonly string[]): Promise<EphemeralMember[][]> {
    if (keys.length === 0) return [];
    const lists = await this.#redis.chatEphemeralMembersOfMany(
      keys.length,
      ...keys.map((key) => `eph:${key}`),
      Date.now(),
    );
    return keys.map((_, index) => pairs(lists[index] ?? []));
  }
}

/** `[member, score, member, score, ...]` (a WITHSCORES reply) as members with their expiry. */
function pairs(flat: readonly string[]): EphemeralMember[] {
  const members: EphemeralMember[] = [];
  for (let index = 0; index + 1 < flat.length; index += 2) {
    members.push({ member: flat[index] as string, expiresAt: Number(flat[index + 1]) });
  }
  return members;
}

/** In-process sets, for the embedded mode. Swept periodically so abandoned keys do not accumulate. */
export class MemoryEphemeralSet implements EphemeralSet {
  readonly kind = 'memory';
  readonly #sets = new Map<string, Map<string, number>>();
  readonly #sweeper: NodeJS.Timeout;

  constructor() {
    this.#sweeper = setInterval(() => {
      for (const key of [...this.#sets.keys()]) this.#live(key);
    }, 30_000);
    this.#sweeper.unref();
  }

  #live(key: string): Map<string, number> | undefined {
    const set = this.#sets.get(key);
    if (!set) return undefined;
    const now = Date.now();
    for (const [member, expiresAt] of set) if (expiresAt <= now) set.delete(member);
    if (set.size === 0) {
      this.#sets.delete(key);
      return undefined;
    }
    return set;
  }

  async touch(key: string, member: string, ttlMs: number): Promise<{ added: boolean; expiresAt: number }> {
    const set = this.#live(key) ?? new Map<string, number>();
    this.#sets.set(key, set);
    const added = !set.has(member);
    const expiresAt = Date.now() + ttlMs;
    set.set(member, expiresAt);
    return { added, expiresAt };
  }

  async remove(key: string, member: string): Promise<boolean> {
    const set = this.#live(key);
    const removed = set?.delete(member) ?? false;
    this.#live(key);
    return removed;
  }

  async members(key: string): Promise<EphemeralMember[]> {
    return [...(this.#live(key) ?? new Map<string, number>())].map(([member, expiresAt]) => ({
      member,
      expiresAt,
    }));
  }

  async membersOfMany(keys: readonly string[]): Promise<EphemeralMember[][]> {
    return Promise.all(keys.map((key) => this.members(key)));
  }

  /** Stops the sweeper. */
  close(): void {
    clearInterval(this.#sweeper);
    this.#sets.clear();
  }
}
