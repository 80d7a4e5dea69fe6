import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { TaskWire } from '../domain/liveMessages.js';
import { Redactor } from '../domain/redaction.js';
import type { CodingTask } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import { openTaskLogWriter, type ExecutionLogWriter } from '../logs/taskLogWriter.js';
import { fillLostTaskLogs, type TaskLogLiveMessage } from '../logs/taskLogs.js';
import { inRunTransaction } from '../domain/runTransaction.js';
import type { CommandSandbox } from './commandSandbox.js';
import { finishExecution, type ExecutionEnd, type ExecutionUsage } from './executionEnd.js';
import type {
  ExecutableTask,
  ExecutionOutcome,
  Executor,
  ProgressReporter,
  TaskBudgets,
} from './executor.js';
import { ChatProgressNotes } from '../chat/progressNotes.js';
import { releaseExecution, type ClaimedExecution } from './queue.js';
import { prepareWorkspace, WorkspaceError, type Workspace } from './workspace.js';
import type { GithubRepositories } from '../github/githubMirror.js';

/** What running one execution needs of the worker pool's options. */
export interface ExecutionRunOptions {
  /** Time limit of executions whose task sets none, ms. */
  executionTimeoutMs: number;
  /** Parent directory of workspaces. */
  workspaceRoot: string;
  /** PATH for `git` when preparing workspaces. */
  path: string;
  /** Where git on workspaces runs (the command sandbox). */
  sandbox: CommandSandbox;
  /** Tried in order; the first whose `canExecute` accepts the task runs it. */
  executors: readonly Executor[];
  /** Clones GitHub repositories (`owner/name`) through the github subgraph; null/absent: local ones only. */
  github?: GithubRepositories | null;
}

/** The worker a run belongs to. */
export interface RunEnvironment {
  deps: OrchestrationDeps;
  /** Stored on the execution; fences every write of the run. */
  workerId: string;
  options: ExecutionRunOptions;
}

/** Why a run was stopped before its executor returned. */
export type AbortReason = 'cancelled' | 'timeout' | 'lease-lost' | 'shutdown';

/** One claimed execution while a worker runs it. */
export interface Run {
  claimed: ClaimedExecution;
  controller: AbortController;
  reason: AbortReason | null;
  /** When the lease was last renewed (Date.now()). */
  renewedAt: number;
  done: Promise<void>;
}

/** Stops a run's executor (the first reason wins). */
export function abortRun(run: Run, reason: AbortReason): void {
  if (run.reason) return;
  run.reason = reason;
  run.controller.abort(new Error(`execution stopped: ${reason}`));
}

/**
 * Runs one claimed execution: a fresh workspace, the first executor that accepts the task, its logs through a
 * redacting writer, a time limit, cancellation from the live bus; then records the outcome (fenced by the worker's
 * id), hands the execution back at shutdown, or leaves it to the sweeper when the lease was lost.
 */
export async function executeRun(env: RunEnvironment, run: Run): Promise<void> {
  const { execution, task } = run.claimed;
  const deps = env.deps;
  const redactor = new Redactor();
  const writer = openTaskLogWriter(deps, { taskId: task.id, executionId: execution.id, redactor });
  const progress = new ChatProgressNotes(deps, { task, executionId: execution.id, redactor });
  const usage: ExecutionUsage = { model: null, tokensIn: 0, tokensOut: 0, costUsd: 0 };
  const started = performance.now();
  const timeoutMs = task.timeoutSeconds ? task.timeoutSeconds * 1_000 : env.options.executionTimeoutMs;
  const timer = setTimeout(() => abortRun(run, 'timeout'), timeoutMs);
  // Cancellation arrives here first (every instance publishes task changes); the heartbeat is the fallback.
  // Not awaited: the run must never wait for the live bus, which may be down (Redis is no dependency, ADR 0012).
  const cancelSubscription = deps.live
    .subscribe(LiveTopic.task(task.id), (message) => {
      if ((message as { task?: TaskWire }).task?.status === 'CANCELLED') abortRun(run, 'cancelled');
    })
    .catch(() => null);
  const held: { workspace: Workspace | null } = { workspace: null };
  let end: ExecutionEnd;
  let executorName: string | null = null;
  try {
    writer.log({
      level: 'INFO',
      kind: 'STEP',
      message: `Attempt ${execution.attempt} started on worker ${env.workerId} with strategy ${execution.strategy}.`,
    });
    const executable = toExecutable(task);
    const executor = env.options.executors.find((candidate) => candidate.canExecute(executable));
    if (!executor) {
      end = failure(
        ExecutionErrorCode.NO_EXECUTOR,
        'No executor can run this task: it has no command and the agent executor is off (AGENT_EXECUTOR_ENABLED=false).',
      );
    } else {
      executorName = executor.name;
      end = await runExecutor(
        env,
        run,
        executor,
        executable,
        writer,
        usage,
        timeoutMs,
        (prepared) => (held.workspace = prepared),
        progress,
      );
    }
  } catch (error) {
    end = failure(
      ExecutionErrorCode.EXECUTOR_ERROR,
      'The executor failed unexpectedly.',
      error instanceof Error ? error.message : String(error),
    );
  } finally {
    clearTimeout(timer);
    void cancelSubscription.then((subscription) => subscription?.close()).catch(() => undefined);
  }

  if (run.reason === 'cancelled') {
    end = { kind: 'cancelled' };
    writer.log({
      level: 'WARN',
      kind: 'STEP',
      message: 'The task was cancelled; the execution was stopped.',
    });
  } else if (run.reason === 'timeout') {
    end = failure(
      ExecutionErrorCode.EXECUTION_TIMEOUT,
      `The execution ran longer than its limit of ${Math.round(timeoutMs / 1000)} s and was stopped.`,
    );
    writer.log({
      level: 'ERROR',
      kind: 'STEP',
      message: `Timed out after ${Math.round(timeoutMs / 1000)} s.`,
    });
  }
  end = redactEnd(end, redactor);
  // Logs and progress notes first, so subscribers see every line and note before the task's final state.
  await writer.close();
  if (writer.lostAfterPublish > 0) await fillLostLines(deps, task.id, execution.id);
  await progress.flush();
  await held.workspace?.dispose().catch(() => undefined);

  if (run.reason === 'lease-lost') {
    deps.logger.warn(
      { executionId: execution.id, taskId: task.id },
      'lease lost: the execution was stopped and is left to the sweeper',
    );
    return;
  }
  if (run.reason === 'shutdown') {
    await releaseExecution(deps, { executionId: execution.id, workerId: env.workerId });
    return;
  }
  await finish(env, execution.id, end, usage, executorName, performance.now() - started);
}

async function runExecutor(
  env: RunEnvironment,
  run: Run,
  executor: Executor,
  task: ExecutableTask,
  writer: ExecutionLogWriter,
  usage: ExecutionUsage,
  timeoutMs: number,
  onWorkspace: (workspace: Workspace) => void,
  progress: ProgressReporter,
): Promise<ExecutionEnd> {
  const { execution } = run.claimed;
  let workspace: Workspace;
  try {
    workspace = await prepareWorkspace({
      root: env.options.workspaceRoot,
      path: env.options.path,
      repository: task.repository,
      baseBranch: task.baseBranch,
      taskId: task.id,
      creatorId: task.creatorId,
      executionId: execution.id,
      workerId: env.workerId,
      sandbox: env.options.sandbox,
      signal: run.controller.signal,
      log: writer,
      github: env.options.github ?? null,
    });
  } catch (error) {
    // A refused repository says so in the message itself (the subgraph's code and the fix).
    if (error instanceof WorkspaceError && error.code !== ExecutionErrorCode.WORKSPACE_FAILED) {
      writer.log({ level: 'ERROR', kind: 'STEP', message: `${error.code}: ${error.message}` });
      return failure(error.code, error.message);
    }
    return failure(
      ExecutionErrorCode.WORKSPACE_FAILED,
      'The workspace could not be prepared.',
      error instanceof Error ? error.message : String(error),
    );
  }
  onWorkspace(workspace);
  const answers = await env.deps.prisma.taskInput.findMany({
    where: { taskId: task.id, answer: { not: null } },
    orderBy: { askedAt: 'asc' },
    select: { question: true, answer: true },
  });
  try {
    return await executor.execute({
      task,
      execution: { id: execution.id, attempt: execution.attempt, strategy: execution.strategy },
      answers: answers.map((input) => ({ question: input.question, answer: input.answer ?? '' })),
      workspace,
      log: writer,
      usage: {
        record: (reported) => {
          if (reported.model) usage.model = reported.model;
          usage.tokensIn += reported.tokensIn ?? 0;
          usage.tokensOut += reported.tokensOut ?? 0;
          usage.costUsd += reported.costUsd ?? 0;
        },
      },
      progress,
      timeoutMs,
      signal: run.controller.signal,
      sandbox: env.options.sandbox,
    });
  } catch (error) {
    return failure(
      ExecutionErrorCode.EXECUTOR_ERROR,
      `The ${executor.name} executor failed unexpectedly.`,
      error instanceof Error ? error.message : String(error),
    );
  }
}

/** Records the end; retried while the database is unreachable (the lease keeps the execution ours meanwhile). */
async function finish(
  env: RunEnvironment,
  executionId: string,
  end: ExecutionEnd,
  usage: ExecutionUsage,
  executor: string | null,
  durationMs: number,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await finishExecution(env.deps, {
        executionId,
        workerId: env.workerId,
        end,
        usage,
        executor,
        durationMs,
      });
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      env.deps.logger.warn(
        { err: error, executionId, attempt },
        'recording the end of an execution failed; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
}

function failure(code: string, message: string, cause?: string): ExecutionOutcome {
  return { kind: 'failed', error: { code, message, ...(cause ? { cause } : {}) } };
}

function toExecutable(task: CodingTask): ExecutableTask {
  return {
    id: task.id,
    title: task.title,
    description: task.description,
    repository: task.repository,
    baseBranch: task.baseBranch,
    command: task.command,
    type: task.type,
    complexity: task.complexity,
    priority: task.priority,
    creatorId: task.creatorId,
    verifyCommand: task.verifyCommand,
    setupCommand: task.setupCommand,
    allowNetwork: task.allowNetwork,
    budgets: (task.budgets ?? null) as TaskBudgets | null,
  };
}

/** Outcomes are stored too: they pass through the execution's redactor like its log lines. */
function redactEnd(end: ExecutionEnd, redactor: Redactor): ExecutionEnd {
  const redact = (text: string): string => redactor.redact(text, 'result');
  switch (end.kind) {
    case 'succeeded':
      return {
        ...end,
        result: {
          ...end.result,
          summary: redact(end.result.summary),
          ...(end.result.diff ? { diff: redact(end.result.diff) } : {}),
        },
      };
    case 'failed':
      return {
        ...end,
        error: {
          ...end.error,
          message: redact(end.error.message),
          ...(end.error.cause ? { cause: redact(end.error.cause) } : {}),
        },
        ...(end.result?.summary ? { result: { ...end.result, summary: redact(end.result.summary) } } : {}),
      };
    case 'awaiting_input':
      return { ...end, question: redact(end.question) };
    case 'cancelled':
      return end;
  }
}

/**
 * Placeholders for lines the writer published and could not store (the database stayed down while it closed), so
 * the log stays dense and readers waiting on the hole move on (ADR 0028). If this fails too, the hole stays
 * until the task's next execution ends through lease recovery; readers resuming before it wait there.
 */
async function fillLostLines(deps: OrchestrationDeps, taskId: string, executionId: string): Promise<void> {
  try {
    await inRunTransaction(deps, ({ tx }) => fillLostTaskLogs(tx, taskId, executionId));
    await deps.live.publish(LiveTopic.taskLogs(taskId), { stored: 0 } satisfies TaskLogLiveMessage);
  } catch (error) {
    deps.logger.error({ err: error, taskId }, 'could not store placeholders for lost task-log lines');
  }
}
