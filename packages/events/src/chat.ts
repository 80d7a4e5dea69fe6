import { z } from 'zod';
import { defineEvent } from './defineEvent.js';
import { Role } from './identity.js';

/**
 * Chat's events. Chat publishes facts about conversations and their messages; other contexts react (the
 * orchestration context answers messages addressed to the agent, the dashboard's activity feed, notifications).
 *
 * Message events are keyed by conversation id, so one conversation's events keep their order on the topic;
 * `seq` is the message's position in its conversation (1, 2, 3, ... without gaps).
 */

/** Chat's topics, one per aggregate. */
export const ChatTopic = {
  conversation: 'chat.conversation',
  message: 'chat.message',
} as const;

/** Agent ids are short slugs, e.g. `coding-agent`. */
export const ChatAgentId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a lower-case slug of 1-63 characters');

/** Who takes part or writes: a user (identity's user id) or an agent. */
export const ChatActor = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('USER'), userId: z.uuid() }),
  z.object({ kind: z.literal('AGENT'), agentId: ChatAgentId }),
]);
export type ChatActor = z.infer<typeof ChatActor>;

/** The rights a user posted with: their role and the scopes their credential carried (at most 64). */
export const ChatAuthorRights = z.object({
  role: Role,
  scopes: z.array(z.string().min(1).max(64)).max(64),
});
export type ChatAuthorRights = z.infer<typeof ChatAuthorRights>;

export const ConversationCreated = defineEvent({
  type: 'ConversationCreated',
  version: 1,
  topic: ChatTopic.conversation,
  description: 'A conversation was created with its first participants (the creator among them).',
  payload: z.object({
    conversationId: z.uuid(),
    title: z.string().min(1).max(200),
    creatorId: z.uuid(),
    participants: z.array(ChatActor).min(1),
  }),
});

export const ChatParticipantsAdded = defineEvent({
  type: 'ChatParticipantsAdded',
  version: 1,
  topic: ChatTopic.conversation,
  description: 'Users or agents joined a conversation; they can read its whole history from now on.',
  payload: z.object({
    conversationId: z.uuid(),
    addedById: z.uuid(),
    participants: z.array(ChatActor).min(1),
  }),
});

export const ChatMessagePosted = defineEvent({
  type: 'ChatMessagePosted',
  version: 1,
  topic: ChatTopic.message,
  description:
    'A message was posted. Carries the Markdown body so consumers (the agent) need not query chat.',
  payload: z.object({
    conversationId: z.uuid(),
    messageId: z.uuid(),
    seq: z.number().int().positive(),
    author: ChatActor,
    body: z.string(),
    attachmentIds: z.array(z.uuid()),
    /** Agents taking part in the conversation when the message was posted, so the agent knows it was addressed. */
    agentParticipantIds: z.array(ChatAgentId),
    /**
     * Users taking part when the message was posted (the author among them): with one user and one agent the
     * conversation is a direct conversation with that agent. Optional (added after version 1 shipped).
     */
    userParticipantCount: z.number().int().nonnegative().optional(),
    /**
     * The rights the USER author posted with (the role and the scopes of the session or API key), so the agent
     * acts for the author with exactly those rights. Absent on AGENT messages and on events published before it
     * existed; the agent then refuses to act.
     */
    authorRights: ChatAuthorRights.optional(),
  }),
});

export const ChatMessageEdited = defineEvent({
  type: 'ChatMessageEdited',
  version: 1,
  topic: ChatTopic.message,
  description:
    "A message's body was changed by its author; the previous body is kept in the message's history.",
  payload: z.object({
    conversationId: z.uuid(),
    messageId: z.uuid(),
    seq: z.number().int().positive(),
    editorId: z.uuid(),
    body: z.string(),
  }),
});

export const ChatMessageDeleted = defineEvent({
  type: 'ChatMessageDeleted',
  version: 1,
  topic: ChatTopic.message,
  description:
    'A message was deleted by its author: its body and history are gone; a tombstone keeps its place.',
  payload: z.object({
    conversationId: z.uuid(),
    messageId: z.uuid(),
    seq: z.number().int().positive(),
    deletedById: z.uuid(),
  }),
});

/** Every chat contract, for the global registry. */
export const chatContracts = [
  ConversationCreated,
  ChatParticipantsAdded,
  ChatMessagePosted,
  ChatMessageEdited,
  ChatMessageDeleted,
] as const;
