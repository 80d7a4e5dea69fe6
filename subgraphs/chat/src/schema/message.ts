import { codedError, ErrorCode, policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { attachToMessage } from '../domain/attachments.js';
import { visibleConversation } from '../domain/conversations.js';
import { deleteMessage, editMessage, postMessage } from '../domain/messages.js';
import { encodeMessageCursor, MAX_ATTACHMENTS_PER_MESSAGE, parseId } from '../domain/validation.js';
import type { MessageView } from '../domain/views.js';
import type { MessageEdit } from '../generated/prisma/client.js';
import type { ChatContext } from '../context.js';
import { AttachmentRef } from './attachment.js';
import { ParticipantKindEnum } from './enums.js';
import { ConversationRef, MessageRef } from './refs.js';
import { UserRef, userRef } from './user.js';

/** Earlier versions assumed per message, for the cost of `edits` (most messages are never edited). */
const EDITS_ASSUMED = 5;

const MessageAuthorRef = builder.objectRef<MessageView>('MessageAuthor').implement({
  description: 'Who wrote a message: a user or the agent.',
  fields: (t) => ({
    kind: t.field({
      type: ParticipantKindEnum,
      description: 'User or agent.',
      resolve: (message) => message.authorKind,
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      description: 'The author, when a user wrote it.',
      resolve: (message) => (message.authorUserId ? userRef(message.authorUserId) : null),
    }),
    agentId: t.exposeString('authorAgentId', {
      nullable: true,
      description: 'The agent id, when the agent wrote it.',
    }),
  }),
});

const MessageEditRef = builder.objectRef<MessageEdit>('MessageEdit').implement({
  description: 'A previous version of an edited message.',
  fields: (t) => ({
    body: t.exposeString('previousBody', { description: 'The body before this edit (Markdown).' }),
    editedAt: t.expose('editedAt', { type: 'DateTime', description: 'When it was replaced.' }),
    editor: t.field({
      type: UserRef,
      nullable: true,
      description: 'Who edited it (the author).',
      resolve: (edit) => (edit.editorUserId ? userRef(edit.editorUserId) : null),
    }),
  }),
});

MessageRef.implement({
  description:
    'A message in a conversation. Deleted messages stay as tombstones (no body) so their place in the order remains.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier.' }),
    seq: t.exposeInt('seq', { description: 'Position in the conversation: 1, 2, 3, ... without gaps.' }),
    cursor: t.string({
      description:
        'Cursor of this message: pass it as `messagePosted(after:)` to resume after it, or as a page cursor.',
      resolve: (message) => encodeMessageCursor(message.seq),
    }),
    conversation: t.field({
      type: ConversationRef,
      description: 'The conversation the message belongs to.',
      resolve: async (message, _args, ctx) =>
        visibleConversation(await ctx.loaders.access.load(message.conversationId), message.conversationId),
    }),
    author: t.field({ type: MessageAuthorRef, description: 'Who wrote it.', resolve: (message) => message }),
    body: t.string({
      nullable: true,
      description: 'Markdown text; null once deleted.',
      resolve: (message) => (message.deletedAt ? null : message.body),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was posted.' }),
    editedAt: t.expose('editedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last edited.',
    }),
    deletedAt: t.expose('deletedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was deleted.',
    }),
    edits: t.field({
      type: [MessageEditRef],
      description: 'Earlier versions, oldest first (empty unless edited; removed on delete).',
      directives: policyDirectives.listSize(EDITS_ASSUMED),
      resolve: (message, _args, ctx) => (message.editedAt ? ctx.loaders.edits.load(message.id) : []),
    }),
    attachments: t.field({
      type: [AttachmentRef],
      description: 'Files attached to the message, oldest first.',
      directives: policyDirectives.listSize(MAX_ATTACHMENTS_PER_MESSAGE),
      resolve: (message) => message.attachments,
    }),
  }),
});

/** A message the caller may read, or null. */
async function readableMessage(ctx: ChatContext, id: string): Promise<MessageView | null> {
  const message = await ctx.loaders.message.load(id);
  if (!message) return null;
  const access = await ctx.loaders.access.load(message.conversationId);
  return access.isParticipant ? message : null;
}

builder.asEntity(MessageRef, {
  key: builder.selection<{ id: string }>('id'),
  // Only participants of the message's conversation resolve it (null for everyone else).
  resolveReference: (reference, ctx) =>
    ctx.principal.kind === 'anonymous' || !/^[0-9a-f-]{36}$/i.test(reference.id)
      ? null
      : readableMessage(ctx, reference.id.toLowerCase()),
});

const PostMessageInput = builder.inputType('PostMessageInput', {
  description: 'A new message.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation to post in.' }),
    body: t.string({
      required: true,
      description: 'Markdown, not blank; at most MESSAGE_MAX_BYTES (32 KiB by default) of UTF-8.',
    }),
    attachmentIds: t.idList({ required: false, description: 'Uploaded attachments to attach (at most 10).' }),
  }),
});

const EditMessageInput = builder.inputType('EditMessageInput', {
  description: 'A new body for one of your messages.',
  fields: (t) => ({
    messageId: t.id({ required: true, description: 'The message to edit.' }),
    body: t.string({ required: true, description: 'The new Markdown body (same limits as posting).' }),
  }),
});

builder.queryFields((t) => ({
  message: t.field({
    type: MessageRef,
    description:
      'A message in a conversation you take part in (FORBIDDEN for others, NOT_FOUND when it does not exist).',
    directives: policyDirectives.requiresScopes('chat:read'),
    args: { id: t.arg.id({ required: true, description: 'The message id.' }) },
    resolve: async (_root, args, ctx) => {
      const id = parseId(String(args.id));
      const message = await ctx.loaders.message.load(id);
      if (!message) throw codedError(ErrorCode.NOT_FOUND, 'Message not found.', { id });
      visibleConversation(await ctx.loaders.access.load(message.conversationId), message.conversationId);
      return message;
    },
  }),
}));

builder.mutationFields((t) => ({
  postMessage: t.field({
    type: MessageRef,
    description: 'Posts a message as you in a conversation you take part in.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: { input: t.arg({ type: PostMessageInput, required: true, description: 'Where and what.' }) },
    resolve: (_root, { input }, ctx) =>
      postMessage(
        ctx.deps,
        ctx.principal,
        {
          conversationId: String(input.conversationId),
          body: input.body,
          attachmentIds: input.attachmentIds?.map(String),
        },
        ctx.requestId,
      ),
  }),
  editMessage: t.field({
    type: MessageRef,
    description: 'Replaces the body of one of your messages; the previous body is kept in `edits`.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: {
      input: t.arg({
        type: EditMessageInput,
        required: true,
        description: 'Which message and its new body.',
      }),
    },
    resolve: (_root, { input }, ctx) =>
      editMessage(
        ctx.deps,
        ctx.principal,
        { messageId: String(input.messageId), body: input.body },
        ctx.requestId,
      ),
  }),
  deleteMessage: t.field({
    type: MessageRef,
    description:
      'Deletes one of your messages: its body, history and attachments are removed; a tombstone remains.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: { messageId: t.arg.id({ required: true, description: 'The message to delete.' }) },
    resolve: (_root, args, ctx) =>
      deleteMessage(ctx.deps, ctx.principal, { messageId: String(args.messageId) }, ctx.requestId),
  }),
  attachToMessage: t.field({
    type: MessageRef,
    description:
      'Attaches an uploaded file (from `createAttachmentUpload`) to one of your messages in the same conversation.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: {
      messageId: t.arg.id({ required: true, description: 'Your message.' }),
      attachmentId: t.arg.id({ required: true, description: 'Your uploaded attachment.' }),
    },
    resolve: (_root, args, ctx) =>
      attachToMessage(ctx.deps, ctx.principal, {
        messageId: String(args.messageId),
        attachmentId: String(args.attachmentId),
      }),
  }),
}));
