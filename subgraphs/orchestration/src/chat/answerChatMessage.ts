import { ChatRequestDeclined, type ChatMessagePosted, type EventMetadata } from '@cap/events';
import { codedError, ErrorCode, isCodedError, type Principal } from '@cap/runtime';
import type { CodingTask } from '../generated/prisma/client.js';
import type { OrchestrationDeps, UnitOfWork } from '../domain/orchestrationDeps.js';
import { answerPlan, applyTransition, createTask, EVENT_SOURCE } from '../domain/tasks.js';
import { LIMITS, parseText } from '../domain/validation.js';
import {
  addressedAgent,
  authorPrincipal,
  taskRequestFrom,
  withoutMention,
  type Addressed,
} from './chatRequest.js';

/** The payload of a `ChatMessagePosted` event. */
export type PostedPayload = ReturnType<typeof ChatMessagePosted.parse>['payload'];

/** What became of a chat message (logged by the consumer, asserted by tests). */
export type ChatMessageOutcome =
  | { kind: 'ignored'; reason: 'agent-authored' | 'not-addressed' | 'already-handled' }
  | { kind: 'created'; taskId: string }
  | { kind: 'answered'; taskId: string }
  | { kind: 'declined'; code: string; taskId: string | null };

/** States in which a task is still the agent's current work in its conversation. */
const ACTIVE = ['PENDING', 'CLASSIFYING', 'QUEUED', 'RUNNING', 'AWAITING_INPUT'] as const;

/**
 * Acts on a posted chat message in the consumer's unit of work (so it commits with the event's processed-mark):
 * a USER message that addresses an agent participant (see `chatRequest.ts`) either answers the open question of
 * the task that agent works on in the conversation (like `provideTaskInput`), or creates a task linked to the
 * conversation on behalf of the author with the author's rights. What cannot be done (no rights, no repository,
 * a task still running, bad input) is declined with a `ChatRequestDeclined` event chat posts as the agent.
 * Validation errors are coded errors of the same domain functions the API uses, so the reply says exactly what
 * the API would.
 */
export async function answerChatMessage(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  payload: PostedPayload,
  metadata: EventMetadata,
): Promise<ChatMessageOutcome> {
  if (payload.author.kind !== 'USER') return { kind: 'ignored', reason: 'agent-authored' };
  const addressed = addressedAgent(payload);
  if (!addressed) return { kind: 'ignored', reason: 'not-addressed' };
  const author = payload.author.userId;
  if (
    await uow.tx.codingTask.findUnique({ where: { chatMessageId: payload.messageId }, select: { id: true } })
  )
    return { kind: 'ignored', reason: 'already-handled' };
  const decline = declineWith(deps, uow, payload, addressed, author);
  const principal = authorPrincipal(author, payload.authorRights);
  if (!principal) {
    return decline(
      ErrorCode.FORBIDDEN,
      'I cannot tell what you may do: your message carries no rights. Post it again.',
      null,
    );
  }
  const text = withoutMention(payload.body, addressed.agentId);
  const current = await uow.tx.codingTask.findFirst({
    where: {
      conversationId: payload.conversationId,
      chatAgentId: addressed.agentId,
      status: { in: [...ACTIVE] },
    },
    orderBy: { createdAt: 'desc' },
  });
  try {
    if (current?.status === 'AWAITING_INPUT') {
      await answer(deps, uow, current, principal, text);
      return { kind: 'answered', taskId: current.id };
    }
    if (current) {
      return decline(
        ErrorCode.CONFLICT,
        `I am still working on “${current.title}” (${current.status}); I will post here when it is done. Cancel it to start something else.`,
        current.id,
      );
    }
    const request = taskRequestFrom(text);
    if (!request.repository) {
      throw codedError(
        ErrorCode.BAD_USER_INPUT,
        'Tell me which repository to work on, on a line of its own: `repo: owner/name` or `repo: /absolute/path/to/a/git/repository`.',
        { field: 'repository', expected: 'a `repo:` line', received: 'none' },
      );
    }
    if (!request.title) {
      throw codedError(
        ErrorCode.BAD_USER_INPUT,
        'Tell me what to do: the first line becomes the task’s title.',
        {
          field: 'title',
          expected: 'a line of text',
          received: 'nothing',
        },
      );
    }
    const task = await createTask(
      deps,
      principal,
      { title: request.title, description: request.description, repository: request.repository },
      { requestId: metadata.requestId },
      {
        uow,
        chat: {
          conversationId: payload.conversationId,
          agentId: addressed.agentId,
          messageId: payload.messageId,
        },
      },
    );
    return { kind: 'created', taskId: task.id };
  } catch (error) {
    // A coded error is the author's to fix (rights, input): it is posted back. Anything else is ours: thrown,
    // so the consumer retries the event (and dead-letters it in the end).
    if (!isCodedError(error)) throw error;
    return decline(error.extensions['code'] as string, error.message, current?.id ?? null);
  }
}

/** Answers `task`'s open question with `text`, as `provideTaskInput` does, in the consumer's unit of work. */
async function answer(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  task: CodingTask,
  principal: Principal,
  text: string,
): Promise<void> {
  const answerText = parseText(text, 'answer', LIMITS.answer);
  const updated = await applyTransition(deps, uow, task, answerPlan(deps, principal, task, answerText));
  // Another transaction changed the task since it was read: roll back, the consumer retries the event.
  if (!updated) throw new Error(`task ${task.id} changed while a chat answer was applied`);
}

function declineWith(
  deps: OrchestrationDeps,
  uow: UnitOfWork,
  payload: PostedPayload,
  addressed: Addressed,
  requesterId: string,
) {
  return async (code: string, message: string, taskId: string | null): Promise<ChatMessageOutcome> => {
    await deps.events.record(uow.tx, [
      ChatRequestDeclined.create(
        {
          conversationId: payload.conversationId,
          messageId: payload.messageId,
          agentId: addressed.agentId,
          requesterId,
          code,
          message: message.slice(0, 2_000),
          taskId,
        },
        { source: EVENT_SOURCE, aggregateId: payload.conversationId, metadata: { actorId: requesterId } },
      ),
    ]);
    return { kind: 'declined', code, taskId };
  };
}
