import { ChatMessagePosted, OrchestrationTopic } from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { answerChatMessage } from '../chat/answerChatMessage.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { SCHEMA } from '../db.js';
import { unitOfWorkOf, unitOfWorkSql } from './unitOfWorkSql.js';

/** Consumer group of the chat-message consumer (also its deduplication scope). */
export const CHAT_MESSAGES_CONSUMER_GROUP = 'orchestration.chat-messages';

/**
 * Consumes ChatMessagePosted (idempotent: once per event id, the task it creates committing with the
 * processed-mark): a USER message addressed to an agent creates or continues that agent's task in the
 * conversation (`src/chat/answerChatMessage.ts`). Other event types on the topic are not orchestration's concern;
 * invalid events go to `chat.message.dlq`.
 */
export function startChatMessagesConsumer(deps: OrchestrationDeps, bus: EventBus): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: unitOfWorkSql(deps),
    schema: SCHEMA,
    groupId: CHAT_MESSAGES_CONSUMER_GROUP,
    topics: [ChatMessagePosted.topic],
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      if (!ChatMessagePosted.is(envelope)) return;
      const outcome = await answerChatMessage(
        deps,
        unitOfWorkOf(ctx.sql),
        envelope.payload,
        envelope.metadata,
      );
      ctx.logger.info(
        { conversationId: envelope.payload.conversationId, messageId: envelope.payload.messageId, outcome },
        'chat message handled',
      );
    },
  });
}

/** Starts the chat-message consumer, retrying while the broker is unreachable (`keepConsumer`); orchestration's topics are created first. */
export function keepChatMessagesConsumer(deps: OrchestrationDeps, bus: EventBus): ResilientConsumer {
  return keepConsumer({
    name: 'chat messages',
    logger: deps.logger,
    ensureTopics: { bus, topics: Object.values(OrchestrationTopic) },
    start: () => startChatMessagesConsumer(deps, bus),
  });
}
