import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLoop, type FinishCheck, type LoopEnd } from './agentLoop.js';
import type { AgentRole, AgentSession } from './agentSession.js';
import type { AgentState } from './agentState.js';
import { AgentError, AgentErrorCode } from './errors.js';
import type { ConversationMessage } from './model.js';
import { KEY_FILES } from './projectDetection.js';
import { walkFiles } from './safeSearch.js';
import { CODING_TOOLS, READ_TOOLS, type ToolArguments } from './toolSchemas.js';

/** How a strategy ended (errors are thrown as {@link AgentError}). */
export type StrategyEnd = { kind: 'finished'; summary: string } | { kind: 'ask'; question: string };

/** Git work a strategy needs (MULTI_AGENT's reviewer reads the combined diff). */
export interface DiffSource {
  workingDiff(maxChars: number): Promise<string>;
}

const RULES = [
  'You are a coding agent working in a clone of a git repository; every path is relative to its root.',
  'Work only through the tools. Make the smallest change that does the task, keep the project style, and make the repository checks pass.',
  'Commands run without network access unless the task allows it; the platform commits and pushes your work, so do not run git commit or git push.',
].join('\n');

/** The final step of SINGLE_SHOT and ITERATIVE: the agent reviews its own diff before it finishes. */
const OWN_REVIEW =
  'Before finishing, review your own diff: where a human reviewer should know something about a specific changed line (a trade-off, a risk, why it is safe), attach it with add_review_note (path of a file you changed, line of its new version). Notes are optional; do not restate the summary.';

function taskText(session: AgentSession): string {
  const task = session.ctx.task;
  const answers = session.ctx.answers.map((qa) => `Q: ${qa.question}\nA: ${qa.answer}`).join('\n');
  const verify = session.verifyCommand
    ? `The checks: \`${session.verifyCommand}\` must exit 0.`
    : 'No verification command was found; check your work yourself.';
  return `# Task: ${task.title}\n\n${task.description}\n\n${verify}${answers ? `\n\nEarlier questions and answers:\n${answers}` : ''}`;
}

/** The repository map SINGLE_SHOT starts from: the file tree and the first lines of key files. */
async function repositoryMap(session: AgentSession): Promise<string> {
  const root = session.tools.root;
  const files = await walkFiles(root, root, 300);
  const parts = [`## Files\n${files.join('\n')}${files.length >= 300 ? '\n… (capped)' : ''}`];
  for (const name of KEY_FILES) {
    const text = await readFile(join(root, name), 'utf8').catch(() => null);
    if (text !== null) parts.push(`## ${name}\n${text.split('\n').slice(0, 60).join('\n')}`);
  }
  return parts.join('\n\n');
}

/** Continues a conversation: answers a pending `ask_user` with the creator's latest answer. */
function conversation(state: AgentState, role: AgentRole, session: AgentSession): ConversationMessage[] {
  const messages = (state.conversations[role] ??= []);
  if (state.pending?.role === role) {
    const answer = session.ctx.answers.at(-1)?.answer;
    messages.push({
      role: 'tool',
      toolCallId: state.pending.toolCallId,
      name: 'ask_user',
      content:
        answer === undefined
          ? 'No answer was given; continue with your best judgement.'
          : `The task creator answered: ${answer}`,
      isError: false,
    });
    session.step(role, 'Resuming the conversation with the answer.');
    state.pending = null;
  }
  return messages;
}

function asked(state: AgentState, role: AgentRole, end: Extract<LoopEnd, { kind: 'ask' }>): StrategyEnd {
  state.pending = { role, toolCallId: end.toolCallId, question: end.question };
  return { kind: 'ask', question: end.question };
}

const tail = (text: string, max = 6_000): string => (text.length <= max ? text : `…${text.slice(-max)}`);

/** Verification on finish, failures fed back (ITERATIVE, and the MULTI_AGENT coder after review). */
function verifyOnFinish(session: AgentSession, role: AgentRole): FinishCheck {
  return async () => {
    const result = await session.verify(role);
    if (!result || result.passed) return { accept: true };
    return {
      accept: false,
      feedback: `Verification failed: \`${session.verifyCommand}\` did not exit 0. Its output:\n${tail(result.output)}\nFix the cause, then call finish again.`,
    };
  };
}

/** SINGLE_SHOT: the task and a repository map, a few rounds of edits, verification once. */
export async function singleShot(session: AgentSession, state: AgentState): Promise<StrategyEnd> {
  const messages = conversation(state, 'agent', session);
  if (messages.length === 0) {
    messages.push({
      role: 'user',
      content: `${taskText(session)}\n\n# Repository map\n${await repositoryMap(session)}\n\nMake the change in a few steps. ${OWN_REVIEW} Then call finish.`,
    });
  }
  const budget = session.tracker.budgets.toolRounds;
  const end = await runLoop(session, {
    role: 'agent',
    model: session.config.models!.default,
    system: RULES,
    tools: CODING_TOOLS,
    messages,
    maxRounds: budget,
    onFinish: async () => {
      await session.verify('agent');
      return { accept: true };
    },
  });
  if (end.kind === 'ask') return asked(state, 'agent', end);
  const summary = end.kind === 'finished' ? end.summary : 'Done.';
  if (session.lastVerification && !session.lastVerification.passed) {
    throw new AgentError(
      AgentErrorCode.VERIFICATION_FAILED,
      `Verification (\`${session.verifyCommand}\`) failed after the single pass.`,
      {
        detail: tail(session.lastVerification.output, 2_000),
      },
    );
  }
  return { kind: 'finished', summary };
}

/** ITERATIVE: observe → act until `finish` passes verification or a budget runs out. */
export async function iterative(session: AgentSession, state: AgentState): Promise<StrategyEnd> {
  const messages = conversation(state, 'agent', session);
  if (messages.length === 0)
    messages.push({
      role: 'user',
      content: `${taskText(session)}\n\nExplore the repository, make the change, run the checks. ${OWN_REVIEW} Then call finish.`,
    });
  const end = await runLoop(session, {
    role: 'agent',
    model: session.config.models!.default,
    system: RULES,
    tools: CODING_TOOLS,
    messages,
    maxRounds: session.tracker.budgets.toolRounds,
    onFinish: verifyOnFinish(session, 'agent'),
  });
  if (end.kind === 'ask') return asked(state, 'agent', end);
  return { kind: 'finished', summary: end.kind === 'finished' ? end.summary : 'Done.' };
}

/** Rounds one planner or reviewer conversation may take. */
const READER_ROUNDS = 12;

/**
 * MULTI_AGENT: a planner submits subtasks (validated), a coder works through them, a reviewer reads the
 * combined diff and approves or requests changes, at most `maxReviewRounds` times; then verification.
 */
export async function multiAgent(
  session: AgentSession,
  state: AgentState,
  git: DiffSource,
): Promise<StrategyEnd> {
  const models = session.config.models!;
  const rounds = session.tracker.budgets.toolRounds;
  if (!state.plan) {
    const planner = conversation(state, 'planner', session);
    if (planner.length === 0) {
      planner.push({
        role: 'user',
        content: `${taskText(session)}\n\nRead what you need, then call submit_plan with 1 to 12 ordered subtasks for a coder.`,
      });
    }
    const end = await runLoop(session, {
      role: 'planner',
      model: models.planner,
      system: `${RULES}\nYou are the planner: you read, you do not edit.`,
      tools: [...READ_TOOLS, 'submit_plan'],
      messages: planner,
      maxRounds: READER_ROUNDS,
    });
    if (end.kind !== 'submitted')
      throw new AgentError(AgentErrorCode.AGENT_STUCK, 'The planner ended without a plan.');
    state.plan = (end.value as ToolArguments<'submit_plan'>).subtasks;
    session.milestone(
      'planner',
      `Plan: ${state.plan.map((item, index) => `${index + 1}. ${item.title}`).join('; ')}`,
    );
  }
  const plan = state.plan;
  const coder = conversation(state, 'coder', session);
  const code = async (prompt: string | null, onFinish: FinishCheck | undefined): Promise<LoopEnd> => {
    if (prompt) coder.push({ role: 'user', content: prompt });
    return runLoop(session, {
      role: 'coder',
      model: models.coder,
      system: `${RULES}\nYou are the coder.`,
      tools: CODING_TOOLS,
      messages: coder,
      maxRounds: rounds,
      ...(onFinish ? { onFinish } : {}),
    });
  };
  // A resumed coder continues its current step without a new prompt (the answer is already appended).
  let resumed = coder.length > 0 && coder.at(-1)?.role === 'tool';
  while (state.subtaskIndex < plan.length) {
    const item = plan[state.subtaskIndex]!;
    const prompt = resumed
      ? null
      : `${state.subtaskIndex === 0 ? `${taskText(session)}\n\n` : ''}Subtask ${state.subtaskIndex + 1} of ${plan.length}: ${item.title}\n${item.description}\nCall finish when this subtask is done.`;
    resumed = false;
    const end = await code(prompt, undefined);
    if (end.kind === 'ask') return asked(state, 'coder', end);
    if (end.kind === 'finished') state.summaries.push(end.summary);
    state.subtaskIndex++;
    session.milestone('coder', `Step ${state.subtaskIndex} of ${plan.length} done: ${item.title}`);
  }
  for (;;) {
    if (state.reviewRequest) {
      const end = await code(
        resumed
          ? null
          : `The reviewer requests changes:\n${state.reviewRequest}\nMake them, then call finish.`,
        undefined,
      );
      resumed = false;
      if (end.kind === 'ask') return asked(state, 'coder', end);
      if (end.kind === 'finished') state.summaries.push(end.summary);
      state.reviewRequest = null;
    }
    if (state.reviewRound >= session.config.maxReviewRounds) break;
    state.reviewRound++;
    const reviewer: ConversationMessage[] = [
      {
        role: 'user',
        content: `${taskText(session)}\n\n# The combined diff\n${await git.workingDiff(60_000)}\n\nReview it (read files if needed). Attach what a human reviewer should know about a specific line to it with add_review_note (lines of the diff's new side). Then call submit_review.`,
      },
    ];
    state.conversations['reviewer'] = reviewer;
    const end = await runLoop(session, {
      role: 'reviewer',
      model: models.reviewer,
      system: `${RULES}\nYou are the reviewer: you read, you do not edit.`,
      tools: [...READ_TOOLS, 'add_review_note', 'submit_review'],
      messages: reviewer,
      maxRounds: READER_ROUNDS,
    });
    const review =
      end.kind === 'submitted'
        ? (end.value as ToolArguments<'submit_review'>)
        : { verdict: 'approve' as const, comments: '' };
    session.milestone(
      'reviewer',
      `Review round ${state.reviewRound}: ${review.verdict}${review.comments ? ` — ${review.comments.slice(0, 500)}` : ''}`,
    );
    if (review.verdict === 'approve') {
      const verification = await session.verify('reviewer');
      if (!verification || verification.passed) return { kind: 'finished', summary: summaryOf(state) };
      state.reviewRequest = `Verification (\`${session.verifyCommand}\`) fails:\n${tail(verification.output)}`;
    } else
      state.reviewRequest =
        review.comments || 'Changes requested without comments; re-read the task and the diff.';
  }
  const verification = await session.verify('coder');
  if (verification && !verification.passed) {
    throw new AgentError(
      AgentErrorCode.VERIFICATION_FAILED,
      `Verification (\`${session.verifyCommand}\`) still fails after ${state.reviewRound} review rounds.`,
      {
        detail: tail(verification.output, 2_000),
      },
    );
  }
  return { kind: 'finished', summary: summaryOf(state) };
}

function summaryOf(state: AgentState): string {
  const plan = state.plan?.map((item) => `- ${item.title}`).join('\n') ?? '';
  return [state.summaries.at(-1) ?? 'Done.', plan ? `\nPlan:\n${plan}` : ''].join('\n').trim();
}
