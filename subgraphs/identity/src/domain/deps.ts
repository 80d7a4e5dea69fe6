import type { KeyValueStore, Logger } from '@cap/runtime';
import type { Envelope } from '@cap/events';
import type { EventRecorder as KitEventRecorder } from '@cap/runtime/kit';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { RateLimitCounter } from './rateLimits.js';
import type { SigningKeyRing } from './signingKeys.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** What identity's use cases need; built once in `main.ts` and shared by resolvers and consumers. */
export interface IdentityDeps {
  prisma: PrismaClient;
  keys: SigningKeyRing;
  kv: KeyValueStore;
  /** Per-address attempt counters of the sensitive mutations (in `kv`, in-process while it is unreachable). */
  rateLimits: RateLimitCounter;
  events: EventRecorder;
  logger: Logger;
  settings: {
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Logins allowed per client address per minute. */
    loginAttemptsPerMinute: number;
    /** Refresh-token exchanges allowed per client address per minute. */
    refreshAttemptsPerMinute: number;
    /** API keys created per client address per minute. */
    apiKeyCreationsPerMinute: number;
  };
}
