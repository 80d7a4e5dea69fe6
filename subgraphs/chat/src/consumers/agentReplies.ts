import { OrchestrationTopic } from '@cap/events';
import {
  keepConsumer,
  runConsumer,
  type EventBus,
  type ResilientConsumer,
  type RunningConsumer,
} from '@cap/messaging';
import { unitOfWorkOf, unitOfWorkSql } from '@cap/runtime/kit';
import { SCHEMA } from '../db.js';
import { postAgentMessage } from '../domain/agentMessages.js';
import { agentReplyFor } from '../domain/agentReplies.js';
import type { ChatDeps, Tx } from '../domain/deps.js';

/** Consumer group of the agent-reply consumer (also its deduplication scope). */
export const AGENT_REPLIES_CONSUMER_GROUP = 'chat.agent-replies';

/**
 * Consumes orchestration's task events and declined chat requests and posts what concerns a conversation as the
 * agent (`domain/agentReplies.ts` words it, `domain/agentMessages.ts` writes it). Idempotent: the message commits
 * with the event's processed-mark, so a redelivered event posts nothing twice. Events of tasks that were not
 * created from chat are skipped; invalid events go to the topic's `.dlq`.
 */
export function startAgentRepliesConsumer(deps: ChatDeps, bus: EventBus): Promise<RunningConsumer> {
  return runConsumer({
    bus,
    sql: unitOfWorkSql<Tx>(deps),
    schema: SCHEMA,
    groupId: AGENT_REPLIES_CONSUMER_GROUP,
    topics: [OrchestrationTopic.task, OrchestrationTopic.chat],
    logger: deps.logger,
    handle: async (envelope, ctx) => {
      const reply = agentReplyFor(envelope);
      if (!reply) return;
      const posted = await postAgentMessage(deps, unitOfWorkOf<Tx>(ctx.sql), reply);
      if (posted) {
        ctx.logger.info(
          {
            conversationId: reply.conversationId,
            agentId: reply.agentId,
            messageId: posted.id,
            event: envelope.type,
          },
          'agent message posted',
        );
      } else {
        ctx.logger.warn(
          { conversationId: reply.conversationId, agentId: reply.agentId, event: envelope.type },
          'agent message not posted: the agent no longer takes part in the conversation (or it is gone)',
        );
      }
    },
  });
}

/** Starts the agent-reply consumer, retrying while the broker is unreachable (`keepConsumer`). */
export function keepAgentRepliesConsumer(deps: ChatDeps, bus: EventBus): ResilientConsumer {
  return keepConsumer({
    name: 'agent replies',
    logger: deps.logger,
    start: () => startAgentRepliesConsumer(deps, bus),
  });
}
