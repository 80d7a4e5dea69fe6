import type { Redis } from 'ioredis';
import { parseMessageView, serializeMessageView, type MessageView } from '../domain/views.js';
import { WINDOW_TTL_MS, type ChatCache } from './ChatCache.js';

// Keys per conversation: `recent:<id>:meta` (hash: min, max), `recent:<id>:msgs` (sorted set: score = seq,
// member = message JSON), `recent:<id>:ver` (counter bumped by every change). Each script runs atomically.

const READ = `
local meta = redis.call('HMGET', KEYS[1], 'min', 'max')
if not meta[1] then return false end
local min = tonumber(meta[1])
local max = tonumber(meta[2])
local before = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local top = max
if before > 0 then top = before - 1 end
if top > max then return false end
local bottom = top - limit + 1
if bottom < min and min > 1 then return false end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3] * 2)
if top < min then return {} end
return redis.call('ZREVRANGEBYSCORE', KEYS[2], top, math.max(bottom, min))
`;

const FILL = `
local version = redis.call('GET', KEYS[3]) or '0'
if version ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'min', ARGV[2], 'max', ARGV[3])
for i = 5, #ARGV, 2 do
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ARGV[4] * 2)
return 1
`;

const APPLY = `
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4] * 2)
local meta = redis.call('HMGET', KEYS[1], 'min', 'max')
if not meta[1] then return 0 end
local min = tonumber(meta[1])
local max = tonumber(meta[2])
local seq = tonumber(ARGV[1])
local capacity = tonumber(ARGV[3])
if seq == max + 1 then
  redis.call('ZADD', KEYS[2], seq, ARGV[2])
  redis.call('HSET', KEYS[1], 'max', seq)
  local count = redis.call('ZCARD', KEYS[2])
  if count > capacity then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, count - capacity - 1)
    local lowest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    redis.call('HSET', KEYS[1], 'min', lowest[2])
  end
elseif seq >= min and seq <= max then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], seq, seq)
  redis.call('ZADD', KEYS[2], seq, ARGV[2])
elseif seq > max + 1 then
  -- A message this window never saw: it can no longer claim to hold the newest messages.
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
else
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return 1
`;

type CacheCommands = {
  chatRecentRead(
    meta: string,
    msgs: string,
    ver: string,
    beforeSeq: number,
    limit: number,
    ttlMs: number,
  ): Promise<string[] | null>;
  chatRecentFill(meta: string, msgs: string, ver: string, ...args: Array<string | number>): Promise<number>;
  chatRecentApply(
    meta: string,
    msgs: string,
    ver: string,
    seq: number,
    json: string,
    capacity: number,
    ttlMs: number,
  ): Promise<number>;
};

/** The recent-message cache in Redis, shared by every chat instance (keys under the connection's prefix). */
export class RedisChatCache implements ChatCache {
  readonly kind = 'redis';
  readonly #redis: Redis & CacheCommands;
  readonly #capacity: number;

  /** @param capacity messages kept per conversation (CACHE_RECENT_MESSAGES). */
  constructor(redis: Redis, options: { capacity: number }) {
    redis.defineCommand('chatRecentRead', { numberOfKeys: 3, lua: READ });
    redis.defineCommand('chatRecentFill', { numberOfKeys: 3, lua: FILL });
    redis.defineCommand('chatRecentApply', { numberOfKeys: 3, lua: APPLY });
    this.#redis = redis as Redis & CacheCommands;
    this.#capacity = options.capacity;
  }

  #keys(conversationId: string): [string, string, string] {
    return [`recent:${conversationId}:meta`, `recent:${conversationId}:msgs`, `recent:${conversationId}:ver`];
  }

  async version(conversationId: string): Promise<string> {
    return (await this.#redis.get(this.#keys(conversationId)[2])) ?? '0';
  }

  async read(
    conversationId: string,
    options: { beforeSeq?: number | undefined; limit: number },
  ): Promise<MessageView[] | null> {
    const members = await this.#redis.chatRecentRead(
      ...this.#keys(conversationId),
      options.beforeSeq ?? 0,
      options.limit,
      WINDOW_TTL_MS,
    );
    return members ? members.map(parseMessageView) : null;
  }

  async fill(conversationId: string, version: string, messages: readonly MessageView[]): Promise<boolean> {
    const window = messages.slice(0, this.#capacity);
    const max = window[0]?.seq ?? 0;
    const min = window.at(-1)?.seq ?? 1;
    const pairs = window.flatMap((message) => [message.seq, serializeMessageView(message)]);
    const stored = await this.#redis.chatRecentFill(
      ...this.#keys(conversationId),
      version,
      min,
      max,
      WINDOW_TTL_MS,
      ...pairs,
    );
    return stored === 1;
  }

  async apply(message: MessageView): Promise<void> {
    await this.#redis.chatRecentApply(
      ...this.#keys(message.conversationId),
      message.seq,
      serializeMessageView(message),
      this.#capacity,
      WINDOW_TTL_MS,
    );
  }

  async close(): Promise<void> {
    // The connection belongs to the app, which closes it.
  }
}
