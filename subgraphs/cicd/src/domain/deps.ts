import type { Envelope } from '@cap/events';
import type { LiveBus } from '@cap/live';
import type { Logger } from '@cap/runtime';
import type { EventRecorder as KitEventRecorder } from '@cap/runtime/kit';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { GithubActions } from './githubActions.js';

export type Tx = Prisma.TransactionClient;

export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** What the cicd use cases need; built once by `startCicd`. */
export interface CicdDeps {
  prisma: PrismaClient;
  events: EventRecorder;
  logger: Logger;
  /** Live fan-out of build changes to subscribers on every instance (Redis, or in process without REDIS_URL). */
  live: LiveBus;
  /** GitHub's Actions API for one repository at a time (tokens from the github subgraph or GITHUB_TOKEN). */
  github: GithubActions;
  settings: {
    logMaxBytes: number;
    maxJobsPerRun: number;
    /** How long a claim on a build's logs lasts unless renewed, ms (CICD_LOG_CLAIM_TTL_MS). */
    logClaimTtlMs: number;
  };
}

/** Where events say they come from. */
export const EVENT_SOURCE = 'cicd';
