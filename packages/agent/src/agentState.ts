import { z } from 'zod';
import { NOTHING_SPENT, type Spent } from './budgetTracker.js';
import type { ExecutionStrategy, JsonValue } from './contract.js';
import type { ConversationMessage } from './model.js';

const toolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
const message = z.discriminatedUnion('role', [
  z.object({ role: z.literal('user'), content: z.string() }),
  z.object({ role: z.literal('assistant'), content: z.string(), toolCalls: z.array(toolCall) }),
  z.object({
    role: z.literal('tool'),
    toolCallId: z.string(),
    name: z.string(),
    content: z.string(),
    isError: z.boolean(),
  }),
]);
const subtask = z.object({ title: z.string(), description: z.string() });
const reviewNote = z.object({ path: z.string(), line: z.number().int(), body: z.string() });

/** The persisted state of a task's agent (one JSON blob per task in the {@link ConversationStore}). */
export const agentStateSchema = z.object({
  version: z.literal(1),
  strategy: z.enum(['SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT']),
  /** Conversations by role. */
  conversations: z.record(z.string(), z.array(message)),
  /** The `ask_user` call waiting for its answer. */
  pending: z.object({ role: z.string(), toolCallId: z.string(), question: z.string() }).nullable(),
  plan: z.array(subtask).nullable(),
  subtaskIndex: z.number().int().nonnegative(),
  reviewRound: z.number().int().nonnegative(),
  /** Changes the reviewer asked for that the coder has not yet finished. */
  reviewRequest: z.string().nullable(),
  summaries: z.array(z.string()),
  /** Notes the agent attached to lines of its change (`add_review_note`); absent from states saved before them. */
  reviewNotes: z.array(reviewNote).default([]),
  spent: z.object({
    tokensIn: z.number(),
    tokensOut: z.number(),
    costUsd: z.number(),
    toolCalls: z.number(),
    modelCalls: z.number(),
    rounds: z.number(),
    elapsedMs: z.number(),
  }),
});
/** The persisted state of a task's agent. */
export type AgentState = Omit<z.output<typeof agentStateSchema>, 'conversations' | 'spent'> & {
  conversations: Record<string, ConversationMessage[]>;
  spent: Spent;
};

/** A fresh state. */
export function newAgentState(strategy: ExecutionStrategy): AgentState {
  return {
    version: 1,
    strategy,
    conversations: {},
    pending: null,
    plan: null,
    subtaskIndex: 0,
    reviewRound: 0,
    reviewRequest: null,
    summaries: [],
    reviewNotes: [],
    spent: { ...NOTHING_SPENT },
  };
}

/** Reads a stored state; null when absent or unreadable (an old version starts over rather than fails). */
export function parseAgentState(value: JsonValue | null): AgentState | null {
  if (value === null) return null;
  const parsed = agentStateSchema.safeParse(value);
  return parsed.success ? (parsed.data as AgentState) : null;
}

/** The state as JSON for the store. */
export function serialiseAgentState(state: AgentState): JsonValue {
  return JSON.parse(JSON.stringify(state)) as JsonValue;
}
