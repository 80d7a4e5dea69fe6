import type { AgentRole, AgentSession } from './agentSession.js';
import { AgentError, AgentErrorCode } from './errors.js';
import type { ConversationMessage } from './model.js';
import { parseToolArguments, runTool } from './toolHandlers.js';
import type { ToolName } from './toolSchemas.js';

/** How one loop ended. */
export type LoopEnd =
  | { kind: 'finished'; summary: string }
  | { kind: 'submitted'; value: unknown }
  | { kind: 'ask'; question: string; toolCallId: string };

/** What the loop asks the strategy when the model calls `finish`: accept, or feed this back and continue. */
export type FinishCheck = (
  summary: string,
) => Promise<{ accept: true } | { accept: false; feedback: string }>;

/** One role's conversation loop. */
export interface LoopOptions {
  role: AgentRole;
  model: string;
  system: string;
  tools: readonly ToolName[];
  /** The conversation; the loop appends to it (the caller persists it). */
  messages: ConversationMessage[];
  /** Rounds this loop may take besides the task's budgets (SINGLE_SHOT's small budget, a subtask's share). */
  maxRounds: number;
  onFinish?: FinishCheck;
}

/** Calls repeated with identical arguments this many times in a row earn a nudge; once more after it fails. */
const STUCK_REPEATS = 3;
/** Condensing keeps this many latest messages whole. */
const KEEP_RECENT = 8;

const NOT_RUN =
  'Not run: an earlier call in the same response ended the turn. Call it again if it is still needed.';

/** Rough token count (4 characters a token): only to decide when to condense. */
function estimateTokens(system: string, messages: readonly ConversationMessage[]): number {
  let chars = system.length;
  for (const message of messages) {
    chars += message.content.length;
    if (message.role === 'assistant')
      for (const call of message.toolCalls) chars += call.arguments.length + call.name.length;
  }
  return Math.ceil(chars / 4);
}

/**
 * Replaces old tool results (all but the latest {@link KEEP_RECENT} messages) with one-line notes once the
 * conversation passes 75 % of the context window, so that the next call still fits. Returns how many were condensed.
 */
export function condense(
  messages: ConversationMessage[],
  system: string,
  contextWindowTokens: number,
): number {
  if (estimateTokens(system, messages) < contextWindowTokens * 0.75) return 0;
  let condensed = 0;
  for (let i = 0; i < messages.length - KEEP_RECENT; i++) {
    const message = messages[i]!;
    if (
      message.role === 'tool' &&
      message.content.length > 200 &&
      !message.content.startsWith('[condensed')
    ) {
      messages[i] = {
        ...message,
        content: `[condensed: an earlier ${message.name} result of ${message.content.length} characters; call the tool again if you need it]`,
      };
      condensed++;
    }
  }
  return condensed;
}

/**
 * Observe → act until the model calls a terminal tool (`finish`, `submit_plan`, `submit_review`), asks the
 * user, or a budget runs out. Every tool call is validated (malformed JSON and schema violations go back to the
 * model as errors), run, logged, and answered; a response without tool calls gets a reminder to use them.
 * @throws {AgentError} BUDGET_EXCEEDED, AGENT_STUCK, LLM_UNAVAILABLE, LLM_REJECTED, AGENT_CANCELLED
 */
export async function runLoop(session: AgentSession, options: LoopOptions): Promise<LoopEnd> {
  const { role, messages } = options;
  let lastKey = '';
  let repeats = 0;
  let nudged = false;
  for (let round = 0; ; round++) {
    if (round >= options.maxRounds) {
      throw new AgentError(
        AgentErrorCode.BUDGET_EXCEEDED,
        `The toolRounds budget is exhausted: the ${role} used its ${options.maxRounds} rounds without finishing. The work so far is kept on the branch.`,
        { detail: 'toolRounds' },
      );
    }
    const condensed = condense(messages, options.system, session.config.contextWindowTokens);
    if (condensed > 0)
      session.step(role, `Condensed ${condensed} older observations to stay within the context window.`);
    const response = await session.callModel(role, options.model, options.system, messages, options.tools);
    messages.push({ role: 'assistant', content: response.text, toolCalls: response.toolCalls });
    if (response.toolCalls.length === 0) {
      messages.push({
        role: 'user',
        content: `Use the tools to make progress; when the work is done call ${options.tools.includes('finish') ? 'finish' : 'the submit tool'}.`,
      });
      continue;
    }
    let end: LoopEnd | null = null;
    let nudge: string | null = null;
    for (const call of response.toolCalls) {
      if (end) {
        messages.push({
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: NOT_RUN,
          isError: true,
        });
        continue;
      }
      session.tracker.beforeToolCall();
      session.tracker.recordToolCall();
      const started = performance.now();
      const key = `${call.name}\u0000${canonical(call.arguments)}`;
      repeats = key === lastKey ? repeats + 1 : 1;
      if (key !== lastKey) nudged = false;
      lastKey = key;
      if (repeats > STUCK_REPEATS && nudged) {
        throw new AgentError(
          AgentErrorCode.AGENT_STUCK,
          `The ${role} repeated ${call.name} with the same arguments ${repeats} times, after being told it was stuck.`,
        );
      }
      const parsed = parseToolArguments(call.name, call.arguments);
      const allowed = parsed.ok && options.tools.includes(parsed.name);
      const outcome = !parsed.ok
        ? { content: parsed.message, isError: true }
        : !allowed
          ? {
              content: `The ${role} cannot use ${call.name}. Available: ${options.tools.join(', ')}.`,
              isError: true,
            }
          : await runTool(session.tools, parsed.name, parsed.args);
      if (session.ctx.signal.aborted)
        throw new AgentError(AgentErrorCode.AGENT_CANCELLED, 'The execution was stopped while a tool ran.');
      let content = outcome.content;
      let isError = outcome.isError;
      const control = 'control' in outcome ? outcome.control : undefined;
      if (control?.kind === 'ask') {
        session.logToolCall(role, call, outcome, performance.now() - started);
        end = { kind: 'ask', question: control.question, toolCallId: call.id };
        continue;
      }
      if (control?.kind === 'finish') {
        const verdict = options.onFinish
          ? await options.onFinish(control.summary)
          : ({ accept: true } as const);
        if (verdict.accept) end = { kind: 'finished', summary: control.summary };
        else {
          content = verdict.feedback;
          isError = true;
        }
      } else if (control?.kind === 'submit') end = { kind: 'submitted', value: control.value };
      session.logToolCall(role, call, { content, isError }, performance.now() - started);
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content, isError });
      if (repeats === STUCK_REPEATS && !nudged) {
        nudged = true;
        nudge = `You called ${call.name} with the same arguments ${STUCK_REPEATS} times in a row and got the same answer. You are stuck: try a different approach, or call finish or ask_user.`;
      }
    }
    if (end) return end;
    if (nudge) {
      session.step(role, 'The agent repeats itself; nudging it.', 'WARN');
      messages.push({ role: 'user', content: nudge });
    }
  }
}

/** Arguments compared by meaning, not formatting: parsed and re-serialised with sorted keys when they are JSON. */
function canonical(text: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
