import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { AnthropicModel } from './anthropicModel.js';
import { AgentSession, RoleTaggingLog } from './agentSession.js';
import { newAgentState, parseAgentState, serialiseAgentState, type AgentState } from './agentState.js';
import { BudgetTracker } from './budgetTracker.js';
import type { AgentConfig } from './config.js';
import type {
  AgentExecutionResult,
  ExecutableTask,
  ExecutionContext,
  ExecutionOutcome,
  Executor,
} from './contract.js';
import { AgentError, AgentErrorCode } from './errors.js';
import { GitWorkspace } from './gitWorkspace.js';
import type { ModelClient } from './model.js';
import { OpenAIModel } from './openaiModel.js';
import {
  systemClock,
  type Clock,
  type CommandRunner,
  type ConversationStore,
  type RepositoryAccess,
} from './ports.js';
import { detectSetupCommand, detectVerifyCommand } from './projectDetection.js';
import { RetryingModel } from './retryingModel.js';
import { ReviewNotebook } from './reviewNotes.js';
import { iterative, multiAgent, singleShot, type StrategyEnd } from './strategies.js';

/** What {@link createAgentExecutor} needs. */
export interface AgentExecutorOptions {
  config: AgentConfig;
  /** Runs every command (the sandbox in production). */
  runner: CommandRunner;
  repositories: RepositoryAccess;
  conversations: ConversationStore;
  /** PATH of the agent's commands. */
  path: string;
  clock?: Clock;
  /** Replaces the configured provider's client (benchmarks, tests of the loop itself). */
  model?: ModelClient;
  /** Jitter source of retries; default Math.random. */
  random?: () => number;
}

/** The agent executor: runs tasks without a shell command (see the README). */
export interface AgentExecutor extends Executor {
  readonly name: 'agent';
}

/**
 * Creates the LLM agent executor. It claims every task without a shell `command`; orchestration registers it
 * after the shell executor. Without a configured model, every execution fails at once with AGENT_NOT_CONFIGURED.
 */
export function createAgentExecutor(options: AgentExecutorOptions): AgentExecutor {
  const clock = options.clock ?? systemClock;
  return {
    name: 'agent',
    canExecute: (task: ExecutableTask) => task.command === null || task.command.trim().length === 0,
    execute: (ctx) => execute(options, clock, ctx),
  };
}

function buildModel(options: AgentExecutorOptions, clock: Clock, ctx: ExecutionContext): ModelClient {
  const { config } = options;
  const provider = config.provider!;
  if (provider.apiKey) ctx.log.registerSecret(provider.apiKey);
  const inner =
    options.model ??
    (provider.kind === 'anthropic' ? new AnthropicModel(provider) : new OpenAIModel(provider));
  const model = new RetryingModel(
    inner,
    {
      maxRetries: config.maxRetries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
      requestTimeoutMs: config.requestTimeoutMs,
      streamIdleTimeoutMs: config.streamIdleTimeoutMs,
    },
    clock,
    options.random,
  );
  model.onRetry = ({ attempt, delayMs, reason }) =>
    ctx.log.log({
      level: 'WARN',
      kind: 'STEP',
      message: `Model call failed (${reason}); retry ${attempt} of ${config.maxRetries} in ${delayMs} ms.`,
    });
  return model;
}

async function execute(
  options: AgentExecutorOptions,
  clock: Clock,
  original: ExecutionContext,
): Promise<ExecutionOutcome> {
  const { config } = options;
  const ctx: ExecutionContext = { ...original, log: new RoleTaggingLog(original.log) };
  if (!config.provider || !config.models) {
    return {
      kind: 'failed',
      error: {
        code: AgentErrorCode.AGENT_NOT_CONFIGURED,
        message: config.missing ?? 'No model is configured.',
      },
    };
  }
  if (!ctx.workspace.cloned || !ctx.task.repository) {
    return {
      kind: 'failed',
      error: {
        code: AgentErrorCode.NO_REPOSITORY,
        message: 'The agent works on a git repository; this task has none that the worker could clone.',
      },
    };
  }
  const strategy = ctx.execution.strategy;
  const root = await realpath(ctx.workspace.dir);
  const home = join(root, '.cap-agent', 'home');
  await mkdir(home, { recursive: true });
  // The agent's commands get this and nothing else from the worker: no model keys, no repository tokens.
  const env: Record<string, string> = {
    PATH: options.path,
    LANG: 'C.UTF-8',
    HOME: home,
    CI: 'true',
    TASK_ID: ctx.task.id,
  };
  let git: GitWorkspace | null = null;
  let state: AgentState = newAgentState(strategy);
  let tracker: BudgetTracker | null = null;
  let session: AgentSession | null = null;
  try {
    const location = await options.repositories.locate(ctx.task.repository);
    git = new GitWorkspace({
      dir: root,
      branch: `agent/${ctx.task.id.replace(/[^A-Za-z0-9]/g, '').slice(0, 8) || 'task'}`,
      runner: options.runner,
      env,
      signal: ctx.signal,
      timeoutMs: config.setupTimeoutMs,
      location,
      author: config.gitAuthor,
    });
    const { resumed } = await git.checkoutBranch();
    const stored = parseAgentState(await options.conversations.load(ctx.task.id));
    if (stored && stored.strategy === strategy && resumed) state = stored;
    ctx.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Agent (${strategy}, ${config.provider.kind} ${config.models.default}) on branch ${git.branch}${resumed ? ', continuing the pushed branch' : ''}${state === stored ? ' and the saved conversation' : ''}.`,
    });
    await setup(options, ctx, root, env);
    const verifyCommand = ctx.task.verifyCommand?.trim() || detectVerifyCommand(root);
    if (!verifyCommand)
      ctx.log.log({
        level: 'WARN',
        kind: 'STEP',
        message: 'No verification command found: finishing is enough to succeed.',
      });
    const budgets = { ...config.budgets[strategy], ...definedOnly(ctx.task.budgets ?? {}) };
    tracker = new BudgetTracker(budgets, clock, state.spent);
    session = new AgentSession({
      ctx,
      config,
      model: buildModel(options, clock, ctx),
      tracker,
      runner: options.runner,
      clock,
      verifyCommand,
      tools: {
        root,
        runner: options.runner,
        env,
        network: ctx.task.allowNetwork === true,
        commandTimeoutMs: config.commandTimeoutMs,
        maxOutputBytes: config.commandOutputMaxBytes,
        signal: ctx.signal,
        reviewNotes: new ReviewNotebook({ root, changes: git, notes: state.reviewNotes }),
      },
    });
    const end: StrategyEnd =
      strategy === 'SINGLE_SHOT'
        ? await singleShot(session, state)
        : strategy === 'ITERATIVE'
          ? await iterative(session, state)
          : await multiAgent(session, state, git);
    state.spent = tracker.snapshot();
    if (end.kind === 'ask') {
      await options.conversations.save(ctx.task.id, serialiseAgentState(state));
      await keepWork(git, `WIP: waiting for an answer\n\n${end.question}`, config.diffMaxChars);
      ctx.log.log({
        level: 'INFO',
        kind: 'STEP',
        message: 'The agent asked a question; waiting for the creator to answer.',
      });
      return { kind: 'awaiting_input', question: end.question };
    }
    const result = await keepWork(git, end.summary, config.diffMaxChars);
    await options.conversations.delete(ctx.task.id);
    ctx.log.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Finished: ${result.commitSha ? `commit ${result.commitSha.slice(0, 12)} pushed to ${git.branch}` : 'no changes'}.`,
    });
    return {
      kind: 'succeeded',
      result: {
        ...result,
        summary: end.summary,
        stopReason: 'finished',
        usage: usageOf(tracker),
        ...ownReview(session, state),
      },
    };
  } catch (error) {
    // Once stopped, whatever failed next (a killed git push, an aborted read) is a consequence of the stop.
    const agentError = ctx.signal.aborted
      ? error instanceof AgentError && error.code === AgentErrorCode.AGENT_CANCELLED
        ? error
        : new AgentError(AgentErrorCode.AGENT_CANCELLED, 'The execution was stopped.', { cause: error })
      : error instanceof AgentError
        ? error
        : null;
    if (!agentError) throw error;
    ctx.log.log({ level: 'ERROR', kind: 'STEP', message: `${agentError.code}: ${agentError.message}` });
    const failure = {
      code: agentError.code,
      message: agentError.message,
      ...(agentError.detail ? { cause: agentError.detail } : {}),
    };
    // A stopped execution must let go within moments; anything else keeps its work on the branch.
    if (agentError.code === AgentErrorCode.AGENT_CANCELLED || !git?.base)
      return { kind: 'failed', error: failure };
    await options.conversations.delete(ctx.task.id);
    const kept = await keepWork(
      git,
      `WIP (${agentError.code}): ${ctx.task.title}\n\n${agentError.message}`,
      config.diffMaxChars,
    ).catch((cause: unknown) => {
      ctx.log.log({
        level: 'ERROR',
        kind: 'STEP',
        message: `Could not keep the work on the branch: ${(cause as Error).message}`,
      });
      return {};
    });
    return {
      kind: 'failed',
      error: failure,
      result: {
        ...kept,
        stopReason: agentError.code,
        ...(tracker ? { usage: usageOf(tracker) } : {}),
        ...ownReview(session, state),
      },
    };
  }
}

/** Installs dependencies (the task's setup command, or the detected one), network per `setupNetwork`. */
async function setup(
  options: AgentExecutorOptions,
  ctx: ExecutionContext,
  root: string,
  env: Record<string, string>,
): Promise<void> {
  const { config } = options;
  const command = ctx.task.setupCommand?.trim() || detectSetupCommand(root);
  if (!command) return;
  ctx.log.log({
    level: 'INFO',
    kind: 'STEP',
    message: `Setup: ${command}${config.setupNetwork ? '' : ' (without network)'}`,
  });
  const result = await options.runner.run({
    shell: command,
    cwd: root,
    env,
    timeoutMs: config.setupTimeoutMs,
    maxOutputBytes: config.commandOutputMaxBytes,
    network: config.setupNetwork,
    signal: ctx.signal,
  });
  if (result.output.length > 0) {
    ctx.log.log({
      level: result.exitCode === 0 ? 'INFO' : 'ERROR',
      kind: 'COMMAND_OUTPUT',
      message: result.output,
      stream: 'setup',
      data: { purpose: 'setup', command, exitCode: result.exitCode },
    });
  }
  if (result.cancelled || ctx.signal.aborted)
    throw new AgentError(AgentErrorCode.AGENT_CANCELLED, 'The execution was stopped during setup.');
  if (result.exitCode !== 0) {
    throw new AgentError(
      AgentErrorCode.SETUP_FAILED,
      `Setup (\`${command}\`) ${result.timedOut ? 'timed out' : `exited with code ${result.exitCode}`}.`,
      {
        detail: result.output.slice(-2_000),
      },
    );
  }
}

/** Commits whatever the work tree holds, pushes the branch, and describes it. */
async function keepWork(
  git: GitWorkspace,
  message: string,
  diffMaxChars: number,
): Promise<Partial<AgentExecutionResult>> {
  await git.commitAll(message);
  await git.push();
  const diff = await git.diff(diffMaxChars);
  return {
    branch: git.branch,
    commitSha: await git.head(),
    diff: diff.diff,
    changedFiles: diff.files,
    diffStats: { filesChanged: diff.files.length, additions: diff.additions, deletions: diff.deletions },
  };
}

/** The agent's own review: its last verification run and the notes it left on its change. */
function ownReview(
  session: AgentSession | null,
  state: AgentState,
): Pick<AgentExecutionResult, 'verification' | 'reviewNotes'> {
  const last = session?.lastVerification;
  return {
    ...(last && session ? { verification: { passed: last.passed, command: session.verifyCommand } } : {}),
    ...(state.reviewNotes.length > 0 ? { reviewNotes: state.reviewNotes.map((note) => ({ ...note })) } : {}),
  };
}

function usageOf(tracker: BudgetTracker): NonNullable<AgentExecutionResult['usage']> {
  const { tokensIn, tokensOut, costUsd, toolCalls, modelCalls } = tracker.spent;
  return { tokensIn, tokensOut, costUsd, toolCalls, modelCalls };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, entry]) => entry !== undefined && entry !== null),
  ) as Partial<T>;
}
