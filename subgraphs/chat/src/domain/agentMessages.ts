import { ChatMessagePosted } from '@cap/events';
import type { UnitOfWork } from '@cap/runtime/kit';
import type { ChatDeps, Tx } from './deps.js';
import { announce } from './messages.js';
import { toMessageView, type MessageView } from './views.js';

/** A message an agent posts (built by `agentReplies.ts` from an orchestration event). */
export interface AgentMessageInput {
  conversationId: string;
  agentId: string;
  /** Markdown; made safe and capped here. */
  body: string;
}

/** C0 controls but tab and line feed, DEL and C1: what a stored body may not contain (like a user's). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
/** A high surrogate without its low one, or a low one without its high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A body chat can store: control characters dropped (CR LF become LF), lone surrogates replaced, at most
 * `maxBytes` of UTF-8 with a truncation mark, never blank.
 */
export function agentBody(text: string, maxBytes: number): string {
  const mark = '\n\n… (shortened)';
  let body = text.replace(/\r\n?/g, '\n').replace(CONTROL, '').replace(LONE_SURROGATE, '\uFFFD').trim();
  if (body.length === 0) body = '…';
  if (Buffer.byteLength(body, 'utf8') <= maxBytes) return body;
  const room = Math.max(0, maxBytes - Buffer.byteLength(mark, 'utf8'));
  // Cut by bytes, then drop a split last character (the decoder turns it into U+FFFD).
  const cut = Buffer.from(body, 'utf8')
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}${mark}`;
}

/**
 * Posts a message as an agent, in the caller's unit of work (the consumer of orchestration's events, whose
 * processed-mark commits with it, so one event posts one message). This is the only way an AGENT-authored
 * message is written: nothing in the graph calls it, so no client can speak as an agent. The agent must take part
 * in the conversation; when it does not (or the conversation is gone) nothing is written and null returned.
 * Like a user's message it gets the next seq under the conversation's row lock and is announced to the
 * recent-message cache and live subscribers after the commit, and ChatMessagePosted (author AGENT) is recorded.
 */
export async function postAgentMessage(
  deps: ChatDeps,
  uow: UnitOfWork<Tx>,
  input: AgentMessageInput,
): Promise<MessageView | null> {
  const { tx } = uow;
  const body = agentBody(input.body, deps.settings.messageMaxBytes);
  const locked = await tx.$queryRaw<Array<{ last_seq: number; agents: string[] | null; users: number }>>`
    UPDATE "chat"."conversations" AS c
    SET "last_seq" = c."last_seq" + 1, "last_activity_at" = now()
    WHERE c."id" = ${input.conversationId}::uuid
      AND EXISTS (SELECT 1 FROM "chat"."participants" p
        WHERE p."conversation_id" = c."id" AND p."kind" = 'AGENT' AND p."agent_id" = ${input.agentId})
    RETURNING c."last_seq",
      (SELECT array_agg(p."agent_id" ORDER BY p."agent_id") FROM "chat"."participants" p
        WHERE p."conversation_id" = c."id" AND p."kind" = 'AGENT') AS agents,
      (SELECT count(*)::int FROM "chat"."participants" p
        WHERE p."conversation_id" = c."id" AND p."kind" = 'USER') AS users`;
  const row = locked[0];
  if (!row) return null;
  const message = await tx.message.create({
    data: {
      conversationId: input.conversationId,
      seq: row.last_seq,
      authorKind: 'AGENT',
      authorAgentId: input.agentId,
      body,
    },
  });
  await deps.events.record(tx, [
    ChatMessagePosted.create(
      {
        conversationId: input.conversationId,
        messageId: message.id,
        seq: message.seq,
        author: { kind: 'AGENT', agentId: input.agentId },
        body,
        attachmentIds: [],
        agentParticipantIds: row.agents ?? [],
        userParticipantCount: row.users,
      },
      { source: 'chat', aggregateId: input.conversationId },
    ),
  ]);
  const view = toMessageView(message, []);
  uow.afterCommit(() => announce(deps, { type: 'posted', message: view }));
  return view;
}
