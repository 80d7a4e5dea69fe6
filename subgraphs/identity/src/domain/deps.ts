import type { KeyValueStore, Logger } from '@cap/runtime';
import type { Envelope } from '@cap/events';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { RateLimitCounter } from './rateLimits.js';
import type { SigningKeyRing } from './signingKeys.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export interface EventRecorder {
  record(tx: Tx, envelopes: Envelope[]): Promise<void>;
  /** Called after the transaction committed, so the relay publishes without waiting for its next poll. */
  committed(): void;
}

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

/** Runs `work` in one transaction with the events it records, then wakes the relay. */
export async function inTransaction<T>(deps: IdentityDeps, work: (tx: Tx) => Promise<T>): Promise<T> {
  const result = await deps.prisma.$transaction(work);
  deps.events.committed();
  return result;
}
