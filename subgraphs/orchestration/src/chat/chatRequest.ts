import type { ChatAuthorRights } from '@cap/events';
import { isScope, type Principal } from '@cap/runtime';
import { LIMITS } from '../domain/validation.js';

/**
 * How a chat message addresses an agent (the rule the README's "The agent in chat" documents):
 * - `mention`: the body mentions `@<agentId>` of an agent taking part in the conversation (the first such
 *   mention wins); a mention of an agent that is not a participant addresses nobody;
 * - `direct`: the conversation is a direct one, its only participants the author and exactly one agent; then
 *   every message of the author addresses that agent.
 * Only USER messages address anyone: the agent's own messages (and any replayed AGENT-authored event) never do.
 */
export type Addressed = { agentId: string; how: 'mention' | 'direct' };

/** What of `ChatMessagePosted` the rule reads. */
export interface PostedMessage {
  author: { kind: 'USER'; userId: string } | { kind: 'AGENT'; agentId: string };
  body: string;
  agentParticipantIds: readonly string[];
  userParticipantCount?: number | undefined;
}

/**
 * `@slug` not preceded by a word character, dot or another `@` (so e-mail addresses are no mentions). One
 * linear pass: no nested quantifiers, the slug is at most 63 characters.
 */
const MENTION = /(?<![\w.@-])@([a-z0-9][a-z0-9-]{0,62})(?![\w-])/g;

/** The agent `message` addresses, or null (see {@link Addressed}). */
export function addressedAgent(message: PostedMessage): Addressed | null {
  if (message.author.kind !== 'USER') return null;
  const participants = new Set(message.agentParticipantIds);
  for (const match of message.body.matchAll(MENTION)) {
    const agentId = match[1]!;
    if (participants.has(agentId)) return { agentId, how: 'mention' };
  }
  if (message.agentParticipantIds.length === 1 && message.userParticipantCount === 1) {
    return { agentId: message.agentParticipantIds[0]!, how: 'direct' };
  }
  return null;
}

/** The message's text for the agent: the mentions of `agentId` removed, trimmed. */
export function withoutMention(body: string, agentId: string): string {
  return body.replace(MENTION, (whole, slug: string) => (slug === agentId ? '' : whole)).trim();
}

/**
 * A repository named on a line of its own, `repo: <ref>` or `repository: <ref>` (any case), where `<ref>` is
 * `owner/name` or an absolute local path (validated by `createTask` like the API's `repository`). The first
 * such line counts; the line is not part of the title.
 */
const REPOSITORY_LINE = /^[ \t]*repo(?:sitory)?[ \t]*:[ \t]*(\S+)[ \t]*$/im;

/** A task request read from a message addressed to the agent. */
export interface ChatTaskRequest {
  /** The first non-empty line without the repository line, at most LIMITS.title characters; '' when none. */
  title: string;
  /** The whole message (mention removed): the task's description. */
  description: string;
  /** The `repo:` line's reference, unvalidated; null when the message names none. */
  repository: string | null;
}

/** Reads title, description and repository from a message's text (see {@link REPOSITORY_LINE}). */
export function taskRequestFrom(text: string): ChatTaskRequest {
  const repository = REPOSITORY_LINE.exec(text)?.[1] ?? null;
  const rest = repository === null ? text : text.replace(REPOSITORY_LINE, '');
  const first = rest
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line.length > 0);
  const title = first ?? '';
  return {
    title: title.length > LIMITS.title ? `${title.slice(0, LIMITS.title - 1)}…` : title,
    description: text,
    repository,
  };
}

/**
 * The principal the agent acts as for a message's author: the author's user id with the role and the scopes
 * their credential carried when they posted (chat stamps them on the event). Unknown scope names are dropped;
 * no rights (an event from before chat stamped them) is null, and the agent then refuses to act.
 */
export function authorPrincipal(userId: string, rights: ChatAuthorRights | undefined): Principal | null {
  if (!rights) return null;
  return { kind: 'user', userId, role: rights.role, scopes: rights.scopes.filter(isScope) };
}
