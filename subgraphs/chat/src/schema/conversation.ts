import { policyDirectives } from '@cap/runtime';
import { connectionPage } from '@cap/runtime/kit';
import { builder } from '../builder.js';
import { activityKey } from '../domain/activity.js';
import {
  addParticipants,
  CONVERSATIONS_PAGE,
  createConversation,
  encodeConversationCursor,
  listConversations,
  visibleConversation,
} from '../domain/conversations.js';
import { MESSAGES_PAGE } from '../domain/messages.js';
import { encodeMessageCursor, parseId } from '../domain/validation.js';
import type { Participant } from '../generated/prisma/client.js';
import { ParticipantKindEnum } from './enums.js';
import { ConversationRef, MessageRef } from './refs.js';
import { UserRef, userRef } from './user.js';

/** Participants assumed per conversation, for the cost of `participants` (the router measures the real size after). */
const PARTICIPANTS_ASSUMED = 10;
/** Users assumed typing or online in one conversation at once, for the cost of `typingUsers` and `onlineUsers`. */
const ACTIVE_USERS_ASSUMED = 10;

const ParticipantRef = builder.objectRef<Participant>('Participant').implement({
  description: 'A member of a conversation: a user or an agent.',
  fields: (t) => ({
    kind: t.field({
      type: ParticipantKindEnum,
      description: 'User or agent.',
      resolve: (participant) => participant.kind,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The user, for USER participants.',
      resolve: (participant) => (participant.userId ? userRef(participant.userId) : null),
    }),
    agentId: t.exposeString('agentId', {
      nullable: true,
      description: 'The agent id, for AGENT participants.',
    }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime', description: 'When the participant was added.' }),
  }),
});

ConversationRef.implement({
  description: 'A conversation between users and, optionally, the agent. Only its participants can see it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    title: t.exposeString('title', { description: 'Title, 1-200 characters.' }),
    creator: t.field({
      type: UserRef,
      description: 'Who created the conversation.',
      resolve: (conversation) => userRef(conversation.creatorId),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the conversation was created.' }),
    lastActivityAt: t.expose('lastActivityAt', {
      type: 'DateTime',
      description: 'When the newest message was posted (or the creation).',
    }),
    participants: t.field({
      type: [ParticipantRef],
      description: 'Everyone taking part, in the order they joined.',
      directives: policyDirectives.listSize(PARTICIPANTS_ASSUMED),
      resolve: (conversation, _args, ctx) => ctx.loaders.participants.load(conversation.id),
    }),
    latestCursor: t.string({
      description:
        'Cursor of the newest message at the time of this read (a "nothing yet" cursor when empty). Pass it as ' +
        '`messagePosted(after:)` to receive exactly what is posted after this read.',
      resolve: (conversation) => encodeMessageCursor(conversation.lastSeq),
    }),
    messages: t.connection(
      {
        type: MessageRef,
        description: `Messages, newest first, ${MESSAGES_PAGE.max} per page at most (also the default). \`first\`/\`after\` page towards older messages, \`last\`/\`before\` towards newer ones.`,
        directives: policyDirectives.connectionSize(MESSAGES_PAGE.default),
        resolve: async (conversation, args, ctx) => {
          const page = await ctx.loaders.messagePage.load({ conversationId: conversation.id, args });
          return {
            edges: page.messages.map((message) => ({
              cursor: encodeMessageCursor(message.seq),
              node: message,
            })),
            pageInfo: {
              hasNextPage: page.hasNextPage,
              hasPreviousPage: page.hasPreviousPage,
              startCursor: page.messages[0] ? encodeMessageCursor(page.messages[0].seq) : null,
              endCursor: page.messages.at(-1) ? encodeMessageCursor(page.messages.at(-1)!.seq) : null,
            },
          };
        },
      },
      { name: 'MessageConnection', description: 'A page of messages.' },
      { name: 'MessageEdge', description: 'A message in a page.' },
    ),
    typingUsers: t.field({
      type: [UserRef],
      description:
        'Users typing right now (indicators last a few seconds unless renewed; empty while unknown).',
      directives: policyDirectives.listSize(ACTIVE_USERS_ASSUMED),
      resolve: async (conversation, _args, ctx) =>
        (await ctx.loaders.activity.load(activityKey('typing', conversation.id))).map(userRef),
    }),
    onlineUsers: t.field({
      type: [UserRef],
      description:
        'Participants online in this conversation right now (by `heartbeat`; empty while unknown).',
      directives: policyDirectives.listSize(ACTIVE_USERS_ASSUMED),
      resolve: async (conversation, _args, ctx) =>
        (await ctx.loaders.activity.load(activityKey('presence', conversation.id))).map(userRef),
    }),
  }),
});

builder.asEntity(ConversationRef, {
  key: builder.selection<{ id: string }>('id'),
  // Other subgraphs reference conversations; only participants resolve them (null for everyone else).
  resolveReference: async (reference, ctx) => {
    if (ctx.principal.kind === 'anonymous' || !/^[0-9a-f-]{36}$/i.test(reference.id)) return null;
    const access = await ctx.loaders.access.load(reference.id.toLowerCase());
    return access.isParticipant ? access.conversation : null;
  },
});

const CreateConversationInput = builder.inputType('CreateConversationInput', {
  description: 'A new conversation. The creator always takes part.',
  fields: (t) => ({
    title: t.string({ required: true, description: 'Title, 1-200 printable characters.' }),
    participantUserIds: t.idList({ required: false, description: 'Other users to add (at most 100).' }),
    agentIds: t.stringList({
      required: false,
      description: 'Agents to add, e.g. `coding-agent` (lower-case slugs).',
    }),
  }),
});

const AddParticipantsInput = builder.inputType('AddParticipantsInput', {
  description: 'Users and agents to add to a conversation you take part in.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    userIds: t.idList({ required: false, description: 'Users to add (at most 100).' }),
    agentIds: t.stringList({ required: false, description: 'Agents to add.' }),
  }),
});

builder.queryFields((t) => ({
  conversation: t.field({
    type: ConversationRef,
    description: 'A conversation you take part in (FORBIDDEN for others, NOT_FOUND when it does not exist).',
    directives: policyDirectives.requiresScopes('chat:read'),
    args: { id: t.arg.id({ required: true, description: 'The conversation id.' }) },
    resolve: async (_root, args, ctx) => {
      const id = parseId(String(args.id));
      return visibleConversation(await ctx.loaders.access.load(id), id);
    },
  }),
  conversations: t.connection(
    {
      type: ConversationRef,
      description: `Conversations you take part in, most recently active first (at most ${CONVERSATIONS_PAGE.max} per page, also the default).`,
      directives: {
        ...policyDirectives.requiresScopes('chat:read'),
        ...policyDirectives.connectionSize(CONVERSATIONS_PAGE.default),
      },
      resolve: async (_root, args, ctx) => {
        const page = await listConversations(ctx.deps, ctx.principal, args);
        return connectionPage(page.conversations, {
          hasNextPage: page.hasNextPage,
          after: args.after,
          cursor: encodeConversationCursor,
        });
      },
    },
    { name: 'ConversationConnection', description: 'A page of conversations.' },
    { name: 'ConversationEdge', description: 'A conversation in a page.' },
  ),
}));

builder.mutationFields((t) => ({
  createConversation: t.field({
    type: ConversationRef,
    description: 'Creates a conversation with you and the given users and agents.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: {
      input: t.arg({ type: CreateConversationInput, required: true, description: 'Title and participants.' }),
    },
    resolve: (_root, { input }, ctx) =>
      createConversation(
        ctx.deps,
        ctx.principal,
        {
          title: input.title,
          participantUserIds: input.participantUserIds?.map(String),
          agentIds: input.agentIds,
        },
        ctx.requestId,
      ),
  }),
  addParticipants: t.field({
    type: ConversationRef,
    description: 'Adds users and agents to a conversation you take part in; they can read its whole history.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: { input: t.arg({ type: AddParticipantsInput, required: true, description: 'Who to add where.' }) },
    resolve: (_root, { input }, ctx) =>
      addParticipants(
        ctx.deps,
        ctx.principal,
        {
          conversationId: String(input.conversationId),
          userIds: input.userIds?.map(String),
          agentIds: input.agentIds,
        },
        ctx.requestId,
      ),
  }),
}));
