import type { Envelope } from '@cap/events';
import type { LiveBus } from '@cap/live';
import type { EventRecorder as KitEventRecorder } from '@cap/runtime/kit';
import type { Logger } from '@cap/runtime';
import type { RecentMessages } from '../cache/RecentMessages.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { EphemeralSet } from '../live/EphemeralSet.js';
import type { AttachmentStorage } from '../storage/AttachmentStorage.js';

/** A Prisma transaction client, as passed to `$transaction(async (tx) => ...)`. */
export type Tx = Prisma.TransactionClient;

/** Writes domain events to the outbox inside the caller's transaction, then wakes the relay after commit. */
export type EventRecorder = KitEventRecorder<Tx, Envelope>;

/** Limits and lifetimes from the configuration. */
export interface ChatSettings {
  messageMaxBytes: number;
  attachmentMaxBytes: number;
  attachmentUploadTtlMs: number;
  attachmentDownloadTtlMs: number;
  attachmentSigningSecret: string;
  typingTtlMs: number;
  presenceTtlMs: number;
}

/** What chat's use cases need; built once in `app.ts` and shared by resolvers and HTTP routes. */
export interface ChatDeps {
  prisma: PrismaClient;
  events: EventRecorder;
  live: LiveBus;
  ephemeral: EphemeralSet;
  recent: RecentMessages;
  storage: AttachmentStorage;
  logger: Logger;
  settings: ChatSettings;
  /** Base URL of attachment links (PUBLIC_URL, or the address the server listens on once it does). */
  publicUrl: () => string;
}
