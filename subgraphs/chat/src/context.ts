import type { Principal } from '@cap/runtime';
import DataLoader from 'dataloader';
import { loadActiveUsers, type ActivityKey } from './domain/activity.js';
import { loadConversationAccess, loadParticipants, type ConversationAccess } from './domain/conversations.js';
import type { ChatDeps } from './domain/deps.js';
import { listMessagePages, messagePageKey, type MessagePageRequest } from './domain/messageRanges.js';
import { loadMessageEdits, loadMessageViewsById, type MessagePage } from './domain/messages.js';
import type { MessageView } from './domain/views.js';
import type { MessageEdit, Participant } from './generated/prisma/client.js';

/** Per-request (per-subscription) batch loaders: every list field costs a constant number of statements. */
export interface ChatLoaders {
  /** Whether the caller may see each conversation (two statements per batch). */
  access: DataLoader<string, ConversationAccess>;
  /** Participants by conversation id. */
  participants: DataLoader<string, Participant[]>;
  /** Messages by id, with their attachments (two statements per batch). */
  message: DataLoader<string, MessageView | null>;
  /** Edit history by message id. */
  edits: DataLoader<string, MessageEdit[]>;
  /** Who is typing / online per conversation (`typing:<id>`, `presence:<id>`): one Redis round trip per batch. */
  activity: DataLoader<ActivityKey, string[]>;
  /** `Conversation.messages` of many conversations: cache first, then one database batch for the misses. */
  messagePage: DataLoader<MessagePageRequest, MessagePage, string>;
  /** Drops cached results: a subscription resolves each event with fresh data. */
  clearAll(): void;
}

/** Per-request context: who is calling (from the router's token), the use cases' deps, and batch loaders. */
export interface ChatContext {
  principal: Principal;
  requestId: string;
  deps: ChatDeps;
  loaders: ChatLoaders;
}

/** Loaders for one request of `principal`. */
export function createLoaders(deps: ChatDeps, principal: Principal): ChatLoaders {
  const userId = principal.kind === 'anonymous' ? null : principal.userId;
  const loaders: Omit<ChatLoaders, 'clearAll'> = {
    access: new DataLoader(async (ids) =>
      userId
        ? loadConversationAccess(deps.prisma, userId, ids)
        : ids.map(() => ({ conversation: null, isParticipant: false })),
    ),
    participants: new DataLoader((ids) => loadParticipants(deps.prisma, ids)),
    message: new DataLoader((ids) => loadMessageViewsById(deps.prisma, ids)),
    edits: new DataLoader((ids) => loadMessageEdits(deps.prisma, ids)),
    // Bounded batches: a page holds at most 50 conversations (100 keys); a bigger document is split.
    activity: new DataLoader((keys) => loadActiveUsers(deps, keys), { maxBatchSize: 200 }),
    messagePage: new DataLoader((requests) => listMessagePages(deps, requests), {
      cacheKeyFn: messagePageKey,
    }),
  };
  return {
    ...loaders,
    clearAll: () => {
      for (const loader of Object.values(loaders)) loader.clearAll();
    },
  };
}
