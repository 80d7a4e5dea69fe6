import { ChatParticipantsAdded, ConversationCreated, type ChatActor } from '@cap/events';
import { codedError, ErrorCode, type Principal } from '@cap/runtime';
import {
  inTransaction,
  assertForwardOnly,
  createInstantIdCursorCodec,
  pageSize,
  resolvePageSize,
} from '@cap/runtime/kit';
import type { Conversation, Participant, PrismaClient } from '../generated/prisma/client.js';
import { conversationNotVisible, requireScope, type Caller } from './authorization.js';
import { type ChatDeps, type Tx } from './deps.js';
import { MAX_PARTICIPANTS_PER_CALL, parseAgentId, parseId, parseIds, parseTitle } from './validation.js';

/** Conversations per page: 50, also the default. */
export const CONVERSATIONS_PAGE = pageSize({ max: 50 });

/** Whether a conversation exists and whether the caller takes part in it. */
export interface ConversationAccess {
  conversation: Conversation | null;
  isParticipant: boolean;
}

/**
 * Access to many conversations for one user in two statements (conversations by id, the user's participant
 * rows among them), whatever the number of ids: the batch function behind the per-request access loader.
 */
export async function loadConversationAccess(
  prisma: PrismaClient | Tx,
  userId: string,
  conversationIds: readonly string[],
): Promise<ConversationAccess[]> {
  const ids = [...new Set(conversationIds)];
  const [conversations, participants] = await Promise.all([
    prisma.conversation.findMany({ where: { id: { in: ids } } }),
    prisma.participant.findMany({
      where: { conversationId: { in: ids }, userId },
      select: { conversationId: true },
    }),
  ]);
  const byId = new Map(conversations.map((conversation) => [conversation.id, conversation]));
  const joined = new Set(participants.map((participant) => participant.conversationId));
  return conversationIds.map((id) => ({ conversation: byId.get(id) ?? null, isParticipant: joined.has(id) }));
}

/** The conversation when the caller takes part in it; NOT_FOUND or FORBIDDEN otherwise. */
export function visibleConversation(access: ConversationAccess, conversationId: string): Conversation {
  if (!access.conversation || !access.isParticipant)
    throw conversationNotVisible(conversationId, access.conversation !== null);
  return access.conversation;
}

/** Resolves when `userId` takes part in the conversation; NOT_FOUND or FORBIDDEN otherwise (two statements). */
export async function assertParticipant(
  prisma: PrismaClient | Tx,
  userId: string,
  conversationId: string,
): Promise<Conversation> {
  const [access] = await loadConversationAccess(prisma, userId, [conversationId]);
  return visibleConversation(access!, conversationId);
}

/** A new conversation's title and first participants. */
export interface CreateConversationInput {
  title: string;
  /** Other users to add; the creator always takes part. */
  participantUserIds?: readonly string[] | null | undefined;
  /** Agents to add, e.g. `coding-agent`. */
  agentIds?: readonly string[] | null | undefined;
}

/** Rows added together get distinct, increasing join times (a millisecond apart), so they list in the order given. */
function inJoinOrder<T extends object>(rows: T[]): Array<T & { joinedAt: Date }> {
  const start = Date.now();
  return rows.map((row, index) => ({ ...row, joinedAt: new Date(start + index) }));
}

function actorsOf(userIds: readonly string[], agentIds: readonly string[]): ChatActor[] {
  return [
    ...userIds.map((userId): ChatActor => ({ kind: 'USER', userId })),
    ...agentIds.map((agentId): ChatActor => ({ kind: 'AGENT', agentId })),
  ];
}

/**
 * Creates a conversation with the caller and the given users and agents as participants. User ids are not
 * checked against identity (another context); an unknown id only adds a participant nobody can act as.
 */
export async function createConversation(
  deps: ChatDeps,
  principal: Principal,
  input: CreateConversationInput,
  requestId?: string,
): Promise<Conversation> {
  const caller = requireScope(principal, 'chat:write');
  const title = parseTitle(input.title);
  const others = parseIds(input.participantUserIds ?? [], 'participantUserIds', MAX_PARTICIPANTS_PER_CALL);
  const agentIds = [...new Set((input.agentIds ?? []).map((agentId) => parseAgentId(agentId)))];
  if (agentIds.length > MAX_PARTICIPANTS_PER_CALL) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `At most ${MAX_PARTICIPANTS_PER_CALL} agents.`, {
      field: 'agentIds',
    });
  }
  const userIds = [caller.userId, ...others.filter((id) => id !== caller.userId)];
  return inTransaction(deps, async ({ tx }) => {
    const conversation = await tx.conversation.create({ data: { title, creatorId: caller.userId } });
    await tx.participant.createMany({
      data: inJoinOrder([
        ...userIds.map((userId) => ({
          conversationId: conversation.id,
          kind: 'USER' as const,
          userId,
          addedById: caller.userId,
        })),
        ...agentIds.map((agentId) => ({
          conversationId: conversation.id,
          kind: 'AGENT' as const,
          agentId,
          addedById: caller.userId,
        })),
      ]),
    });
    await deps.events.record(tx, [
      ConversationCreated.create(
        {
          conversationId: conversation.id,
          title,
          creatorId: caller.userId,
          participants: actorsOf(userIds, agentIds),
        },
        { source: 'chat', aggregateId: conversation.id, metadata: metadata(caller, requestId) },
      ),
    ]);
    return conversation;
  });
}

/** Adds users and agents to a conversation the caller takes part in; ones already in it are skipped. */
export async function addParticipants(
  deps: ChatDeps,
  principal: Principal,
  input: {
    conversationId: string;
    userIds?: readonly string[] | null | undefined;
    agentIds?: readonly string[] | null | undefined;
  },
  requestId?: string,
): Promise<Conversation> {
  const caller = requireScope(principal, 'chat:write');
  const conversationId = parseId(input.conversationId, 'conversationId');
  const userIds = parseIds(input.userIds ?? [], 'userIds', MAX_PARTICIPANTS_PER_CALL);
  const agentIds = [...new Set((input.agentIds ?? []).map((agentId) => parseAgentId(agentId)))];
  if (userIds.length + agentIds.length === 0) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'Name at least one user or agent to add.', {
      field: 'userIds',
      expected: 'at least one id',
    });
  }
  if (agentIds.length > MAX_PARTICIPANTS_PER_CALL) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `At most ${MAX_PARTICIPANTS_PER_CALL} agents.`, {
      field: 'agentIds',
    });
  }
  return inTransaction(deps, async ({ tx }) => {
    const conversation = await assertParticipant(tx, caller.userId, conversationId);
    const existing = await tx.participant.findMany({
      where: { conversationId },
      select: { userId: true, agentId: true },
    });
    const present = new Set(
      existing.map((participant) => participant.userId ?? `agent:${participant.agentId}`),
    );
    const newUsers = userIds.filter((id) => !present.has(id));
    const newAgents = agentIds.filter((id) => !present.has(`agent:${id}`));
    if (newUsers.length + newAgents.length === 0) return conversation;
    await tx.participant.createMany({
      data: inJoinOrder([
        ...newUsers.map((userId) => ({
          conversationId,
          kind: 'USER' as const,
          userId,
          addedById: caller.userId,
        })),
        ...newAgents.map((agentId) => ({
          conversationId,
          kind: 'AGENT' as const,
          agentId,
          addedById: caller.userId,
        })),
      ]),
      skipDuplicates: true,
    });
    await deps.events.record(tx, [
      ChatParticipantsAdded.create(
        { conversationId, addedById: caller.userId, participants: actorsOf(newUsers, newAgents) },
        { source: 'chat', aggregateId: conversationId, metadata: metadata(caller, requestId) },
      ),
    ]);
    return conversation;
  });
}

const conversationCursor = createInstantIdCursorCodec('conversation');

/** Opaque cursor of a conversation in the caller's list. */
export function encodeConversationCursor(conversation: Conversation): string {
  return conversationCursor.encode({ at: conversation.lastActivityAt, id: conversation.id });
}

/** The caller's conversations, most recently active first; one page plus whether more follow. */
export async function listConversations(
  deps: ChatDeps,
  principal: Principal,
  args: {
    first?: number | null | undefined;
    after?: string | null | undefined;
    last?: number | null | undefined;
    before?: string | null | undefined;
  },
): Promise<{ conversations: Conversation[]; hasNextPage: boolean }> {
  const caller = requireScope(principal, 'chat:read');
  assertForwardOnly(args);
  const first = resolvePageSize(args, CONVERSATIONS_PAGE);
  const cursor = args.after ? conversationCursor.decode(args.after) : null;
  const rows = await deps.prisma.conversation.findMany({
    where: {
      participants: { some: { userId: caller.userId } },
      ...(cursor
        ? {
            OR: [{ lastActivityAt: { lt: cursor.at } }, { lastActivityAt: cursor.at, id: { lt: cursor.id } }],
          }
        : {}),
    },
    orderBy: [{ lastActivityAt: 'desc' }, { id: 'desc' }],
    take: first + 1,
  });
  return { conversations: rows.slice(0, first), hasNextPage: rows.length > first };
}

/** Participants of many conversations in one statement, oldest first within each. */
export async function loadParticipants(
  prisma: PrismaClient,
  conversationIds: readonly string[],
): Promise<Participant[][]> {
  const rows = await prisma.participant.findMany({
    where: { conversationId: { in: [...new Set(conversationIds)] } },
    orderBy: [{ joinedAt: 'asc' }, { id: 'asc' }],
  });
  const byConversation = new Map<string, Participant[]>();
  for (const row of rows) {
    const list = byConversation.get(row.conversationId) ?? [];
    list.push(row);
    byConversation.set(row.conversationId, list);
  }
  return conversationIds.map((id) => byConversation.get(id) ?? []);
}

/** Event metadata of a change made by `caller`. */
export function metadata(
  caller: Caller,
  requestId: string | undefined,
): { actorId: string; requestId?: string } {
  return { actorId: caller.userId, ...(requestId ? { requestId } : {}) };
}
