import { policyDirectives, resumable } from '@cap/runtime';
import { builder } from '../builder.js';
import {
  heartbeat,
  presenceStream,
  setTyping,
  typingStream,
  type PresenceEvent,
  type TypingEvent,
} from '../domain/activity.js';
import { messagePostedStream, messageUpdatedStream } from '../domain/liveMessages.js';
import type { MessageView } from '../domain/views.js';
import { MessageRef } from './refs.js';
import { UserRef, userRef } from './user.js';

const TypingEventRef = builder.objectRef<TypingEvent>('TypingEvent').implement({
  description: 'Someone started or stopped typing in a conversation.',
  fields: (t) => ({
    conversationId: t.exposeID('conversationId', { description: 'The conversation.' }),
    user: t.field({ type: UserRef, description: 'Who.', resolve: (event) => userRef(event.userId) }),
    typing: t.exposeBoolean('typing', {
      description: 'True when they started, false when they stopped (or it lapsed).',
    }),
  }),
});

const PresenceEventRef = builder.objectRef<PresenceEvent>('PresenceEvent').implement({
  description: 'A participant came online in a conversation or went offline.',
  fields: (t) => ({
    conversationId: t.exposeID('conversationId', { description: 'The conversation.' }),
    user: t.field({ type: UserRef, description: 'Who.', resolve: (event) => userRef(event.userId) }),
    online: t.exposeBoolean('online', {
      description: 'True when online, false when they left or their heartbeat lapsed.',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Until when they count as online without another heartbeat (null when offline).',
    }),
  }),
});

builder.mutationFields((t) => ({
  setTyping: t.field({
    type: TypingEventRef,
    description: 'Shows (or hides) your typing indicator; it lapses after a few seconds unless repeated.',
    directives: policyDirectives.requiresScopes('chat:write'),
    args: {
      conversationId: t.arg.id({ required: true, description: 'The conversation you type in.' }),
      typing: t.arg.boolean({ required: false, defaultValue: true, description: 'False to stop at once.' }),
    },
    resolve: (_root, args, ctx) =>
      setTyping(ctx.deps, ctx.principal, {
        conversationId: String(args.conversationId),
        typing: args.typing ?? true,
      }),
  }),
  heartbeat: t.field({
    type: PresenceEventRef,
    description:
      'Marks you online in a conversation; repeat well within 30 seconds to stay online, or pass `online: false` to leave.',
    // Readers may show presence: being online is not writing.
    directives: policyDirectives.requiresScopes('chat:read'),
    args: {
      conversationId: t.arg.id({ required: true, description: 'The conversation you are looking at.' }),
      online: t.arg.boolean({
        required: false,
        defaultValue: true,
        description: 'False to go offline at once.',
      }),
    },
    resolve: (_root, args, ctx) =>
      heartbeat(ctx.deps, ctx.principal, {
        conversationId: String(args.conversationId),
        online: args.online ?? true,
      }),
  }),
}));

/** Each event is resolved with fresh loaders: a long subscription must not serve data cached at its start. */
function fresh<T>(value: T, ctx: { loaders: { clearAll(): void } }): T {
  ctx.loaders.clearAll();
  return value;
}

builder.subscriptionFields((t) => ({
  messagePosted: t.field({
    type: MessageRef,
    description:
      'New messages of a conversation you take part in, in order, each once. With `after` (a message cursor or ' +
      '`Conversation.latestCursor`) it first replays everything posted since, then continues live: resubscribe with the ' +
      'last cursor you received to resume without gaps or duplicates.',
    directives: { ...policyDirectives.requiresScopes('chat:read'), ...resumable('after', 'cursor') },
    args: {
      conversationId: t.arg.id({ required: true, description: 'The conversation.' }),
      after: t.arg.string({
        required: false,
        description: 'Replay messages after this cursor first; omit to start with the next one.',
      }),
    },
    subscribe: (_root, args, ctx) =>
      messagePostedStream(ctx.deps, ctx.principal, {
        conversationId: String(args.conversationId),
        after: args.after,
      }),
    resolve: (message: MessageView, _args, ctx) => fresh(message, ctx),
  }),
  messageUpdated: t.field({
    type: MessageRef,
    description: 'Messages of a conversation as they are edited, deleted or get attachments.',
    directives: policyDirectives.requiresScopes('chat:read'),
    args: { conversationId: t.arg.id({ required: true, description: 'The conversation.' }) },
    subscribe: (_root, args, ctx) =>
      messageUpdatedStream(ctx.deps, ctx.principal, { conversationId: String(args.conversationId) }),
    resolve: (message: MessageView, _args, ctx) => fresh(message, ctx),
  }),
  typing: t.field({
    type: TypingEventRef,
    description:
      'Who starts and stops typing in a conversation (others than you), starting with who is typing now.',
    directives: policyDirectives.requiresScopes('chat:read'),
    args: { conversationId: t.arg.id({ required: true, description: 'The conversation.' }) },
    subscribe: (_root, args, ctx) =>
      typingStream(ctx.deps, ctx.principal, { conversationId: String(args.conversationId) }),
    resolve: (event: TypingEvent) => event,
  }),
  presence: t.field({
    type: PresenceEventRef,
    description: 'Who comes online and goes offline in a conversation, starting with who is online now.',
    directives: policyDirectives.requiresScopes('chat:read'),
    args: { conversationId: t.arg.id({ required: true, description: 'The conversation.' }) },
    subscribe: (_root, args, ctx) =>
      presenceStream(ctx.deps, ctx.principal, { conversationId: String(args.conversationId) }),
    resolve: (event: PresenceEvent) => event,
  }),
}));
