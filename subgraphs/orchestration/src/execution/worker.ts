import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LiveSubscription } from '@cap/live';
import type { CodingTask } from '../generated/prisma/client.js';
import { LiveTopic } from '../live/LiveTopic.js';
import type { CommandSandbox } from './commandSandbox.js';
import type { OrchestrationDeps } from '../domain/orchestrationDeps.js';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { ExecutableTask, ExecutionOutcome, Executor, TaskBudgets } from './executor.js';
import {
  claimExecutions,
  finishExecution,
  releaseExecution,
  renewLeases,
  type ClaimedExecution,
  type ExecutionEnd,
  type ExecutionUsage,
} from './queue.js';
import { Redactor } from '../domain/redaction.js';
import { TaskLogWriter } from '../logs/taskLogs.js';
import type { TaskWire } from '../domain/liveMessages.js';
import { prepareWorkspace, type Workspace } from './workspace.js';

/** Options of a {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Stable for the pool's life, unique across instances; stored on the executions it claims. */
  workerId?: string;
  /** Executions run at once. */
  concurrency: number;
  /** Idle wait between claims when nothing wakes the pool, ms. */
  pollIntervalMs: number;
  /** Lease of a claimed execution, ms. */
  leaseMs: number;
  /** Lease renewal (and cancellation check) interval, ms. */
  heartbeatIntervalMs: number;
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
}

/** Why a run was stopped before its executor returned. */
type AbortReason = 'cancelled' | 'timeout' | 'lease-lost' | 'shutdown';

interface Run {
  claimed: ClaimedExecution;
  controller: AbortController;
  reason: AbortReason | null;
  /** When the lease was last renewed (Date.now()). */
  renewedAt: number;
  done: Promise<void>;
}

/**
 * Runs queued executions with bounded concurrency: claims up to `concurrency` executions (waking on new work
 * published on the live bus, or polling), runs each through the first matching executor in a fresh workspace,
 * renews their leases every `heartbeatIntervalMs` (which also reports cancellations), and records the outcome.
 *
 * A run stops early when its task is cancelled (live notification or heartbeat: within one heartbeat at most),
 * when it exceeds its time limit, when its lease was lost (this worker stops writing; the sweeper re-queues it
 * elsewhere), or at shutdown (the execution is handed back to the queue).
 */
export class WorkerPool {
  readonly workerId: string;
  readonly #deps: OrchestrationDeps;
  readonly #options: WorkerPoolOptions;
  readonly #runs = new Map<string, Run>();
  #stopping = false;
  #wake: (() => void) | null = null;
  #woken = false;
  #loop: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #beating = false;
  #queueSubscription: LiveSubscription | null = null;

  constructor(deps: OrchestrationDeps, options: WorkerPoolOptions) {
    this.#deps = deps;
    this.#options = options;
    this.workerId = options.workerId ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  }

  /** Executions running right now. */
  get running(): number {
    return this.#runs.size;
  }

  /** Starts claiming work. */
  async start(): Promise<void> {
    this.#queueSubscription = await this.#deps.live.subscribe(LiveTopic.queue, () => this.wake());
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatIntervalMs);
    this.#loop = this.#claimLoop();
    this.#deps.logger.info(
      { workerId: this.workerId, concurrency: this.#options.concurrency },
      'worker pool started',
    );
  }

  /** Makes an idle pool look for work now. */
  wake(): void {
    this.#woken = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Stops claiming, lets running executions finish for up to `graceMs`, then stops the rest and hands them back
   * to the queue for another worker.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.wake();
    await this.#loop;
    await this.#queueSubscription?.close();
    const runs = [...this.#runs.values()];
    if (runs.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(runs.map((run) => run.done)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
      for (const run of this.#runs.values()) this.#abort(run, 'shutdown');
      await Promise.all([...this.#runs.values()].map((run) => run.done));
    }
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#deps.logger.info({ workerId: this.workerId }, 'worker pool stopped');
  }

  async #claimLoop(): Promise<void> {
    while (!this.#stopping) {
      this.#woken = false;
      const free = this.#options.concurrency - this.#runs.size;
      let claimed: ClaimedExecution[] = [];
      if (free > 0) {
        try {
          claimed = await claimExecutions(this.#deps, {
            workerId: this.workerId,
            limit: free,
            leaseMs: this.#options.leaseMs,
          });
        } catch (error) {
          this.#deps.logger.warn({ err: error }, 'claiming executions failed');
        }
      }
      for (const item of claimed) this.#startRun(item);
      // A full claim suggests more work is waiting: look again at once if a slot is free.
      if (claimed.length > 0 && claimed.length === free) continue;
      if (this.#woken || this.#stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, this.#options.pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #startRun(claimed: ClaimedExecution): void {
    const run: Run = {
      claimed,
      controller: new AbortController(),
      reason: null,
      renewedAt: Date.now(),
      done: Promise.resolve(),
    };
    this.#runs.set(claimed.execution.id, run);
    run.done = this.#execute(run)
      .catch((error: unknown) =>
        this.#deps.logger.error({ err: error, executionId: claimed.execution.id }, 'execution run failed'),
      )
      .finally(() => {
        this.#runs.delete(claimed.execution.id);
        this.wake();
      });
  }

  #abort(run: Run, reason: AbortReason): void {
    if (run.reason) return;
    run.reason = reason;
    run.controller.abort(new Error(`execution stopped: ${reason}`));
  }

  /** Renews every running execution's lease; stops runs whose task was cancelled or whose lease was lost. */
  async #beat(): Promise<void> {
    if (this.#beating || this.#runs.size === 0) return;
    this.#beating = true;
    try {
      const states = await renewLeases(this.#deps, {
        workerId: this.workerId,
        executionIds: [...this.#runs.keys()],
        leaseMs: this.#options.leaseMs,
      });
      const now = Date.now();
      for (const [id, state] of states) {
        const run = this.#runs.get(id);
        if (!run) continue;
        if (!state.held) this.#abort(run, 'lease-lost');
        else {
          run.renewedAt = now;
          if (state.cancelled) this.#abort(run, 'cancelled');
        }
      }
    } catch (error) {
      this.#deps.logger.warn({ err: error }, 'lease renewal failed');
      // Self-fencing: a worker that cannot renew must stop before its lease runs out and another worker starts
      // the same task, so that it never runs twice at once.
      const deadline = this.#options.leaseMs - this.#options.heartbeatIntervalMs;
      for (const run of this.#runs.values())
        if (Date.now() - run.renewedAt >= deadline) this.#abort(run, 'lease-lost');
    } finally {
      this.#beating = false;
    }
  }

  async #execute(run: Run): Promise<void> {
    const { execution, task } = run.claimed;
    const deps = this.#deps;
    const redactor = new Redactor();
    const writer = new TaskLogWriter(deps, { taskId: task.id, executionId: execution.id, redactor });
    const usage: ExecutionUsage = { model: null, tokensIn: 0, tokensOut: 0, costUsd: 0 };
    const started = performance.now();
    const timeoutMs = task.timeoutSeconds ? task.timeoutSeconds * 1_000 : this.#options.executionTimeoutMs;
    const timer = setTimeout(() => this.#abort(run, 'timeout'), timeoutMs);
    // Cancellation arrives here first (every instance publishes task changes); the heartbeat is the fallback.
    // Not awaited: the run must never wait for the live bus, which may be down (Redis is no dependency, ADR 0012).
    const cancelSubscription = deps.live
      .subscribe(LiveTopic.task(task.id), (message) => {
        if ((message as { task?: TaskWire }).task?.status === 'CANCELLED') this.#abort(run, 'cancelled');
      })
      .catch(() => null);
    const held: { workspace: Workspace | null } = { workspace: null };
    let end: ExecutionEnd;
    let executorName: string | null = null;
    try {
      writer.log({
        level: 'INFO',
        kind: 'STEP',
        message: `Attempt ${execution.attempt} started on worker ${this.workerId} with strategy ${execution.strategy}.`,
      });
      const executable = toExecutable(task);
      const executor = this.#options.executors.find((candidate) => candidate.canExecute(executable));
      if (!executor) {
        end = failure(
          ExecutionErrorCode.NO_EXECUTOR,
          'No executor can run this task: it has no command and the agent executor is off (AGENT_EXECUTOR_ENABLED=false).',
        );
      } else {
        executorName = executor.name;
        end = await this.#runExecutor(
          run,
          executor,
          executable,
          writer,
          usage,
          timeoutMs,
          (prepared) => (held.workspace = prepared),
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
    // Logs first, so subscribers see every line before the task's final state.
    await writer.close();
    await held.workspace?.dispose().catch(() => undefined);

    if (run.reason === 'lease-lost') {
      deps.logger.warn(
        { executionId: execution.id, taskId: task.id },
        'lease lost: the execution was stopped and is left to the sweeper',
      );
      return;
    }
    if (run.reason === 'shutdown') {
      await releaseExecution(deps, { executionId: execution.id, workerId: this.workerId });
      return;
    }
    await this.#finish(execution.id, end, usage, executorName, performance.now() - started);
  }

  async #runExecutor(
    run: Run,
    executor: Executor,
    task: ExecutableTask,
    writer: TaskLogWriter,
    usage: ExecutionUsage,
    timeoutMs: number,
    onWorkspace: (workspace: Workspace) => void,
  ): Promise<ExecutionEnd> {
    const { execution } = run.claimed;
    let workspace: Workspace;
    try {
      workspace = await prepareWorkspace({
        root: this.#options.workspaceRoot,
        path: this.#options.path,
        repository: task.repository,
        taskId: task.id,
        executionId: execution.id,
        workerId: this.workerId,
        sandbox: this.#options.sandbox,
        signal: run.controller.signal,
        log: writer,
      });
    } catch (error) {
      return failure(
        ExecutionErrorCode.WORKSPACE_FAILED,
        'The workspace could not be prepared.',
        error instanceof Error ? error.message : String(error),
      );
    }
    onWorkspace(workspace);
    const answers = await this.#deps.prisma.taskInput.findMany({
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
        timeoutMs,
        signal: run.controller.signal,
        sandbox: this.#options.sandbox,
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
  async #finish(
    executionId: string,
    end: ExecutionEnd,
    usage: ExecutionUsage,
    executor: string | null,
    durationMs: number,
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await finishExecution(this.#deps, {
          executionId,
          workerId: this.workerId,
          end,
          usage,
          executor,
          durationMs,
        });
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        this.#deps.logger.warn(
          { err: error, executionId, attempt },
          'recording the end of an execution failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
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
