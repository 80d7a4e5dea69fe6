import type { Envelope } from '@cap/events';
import type { CredentialCipher, SecretRedactor } from '@cap/github-client';
import type { LiveBus } from '@cap/live';
import type { Logger } from '@cap/runtime';
import type { EventRecorder as KitEventRecorder } from '@cap/runtime/kit';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { GithubAccess } from './githubAccess.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** What the github subgraph's use cases need; built once in `app.ts`, shared by resolvers, routes and consumers. */
export interface GithubDeps {
  prisma: PrismaClient;
  access: GithubAccess;
  cipher: CredentialCipher;
  redactor: SecretRedactor;
  events: EventRecorder;
  /** Live fan-out of pull-request changes to `pullRequestUpdated` subscribers (Redis, or in process). */
  live: LiveBus;
  logger: Logger;
  settings: {
    webUrl: string;
    oauth: { clientId: string; clientSecret: string; redirectUrl: string | undefined } | null;
    oauthStateTtlSeconds: number;
    pullRequestDraft: boolean;
    taskUrlTemplate: string | undefined;
    /** How long a head-branch reservation links pull requests to its task, ms (ADR 0036). */
    pullRequestReservationTtlMs: number;
  };
}
