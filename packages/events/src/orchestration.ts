import { z } from 'zod';
import { defineEvent } from './defineEvent.js';

/**
 * Orchestration's events: the life of a coding task (created, started, logged, completed, failed, cancelled)
 * and the classification it consumes. Other contexts react: the classifier classifies `TaskCreated`, the
 * dashboard's activity feed and statistics follow the rest, training data is built from completed tasks.
 *
 * Payloads carry ids and facts, never secrets: log text is not in `TaskLogAppended` (it is redacted and read
 * through the graph), and commands are not in `TaskCreated`.
 */

/** Orchestration's topics, one per aggregate; every event's key is the task id. */
export const OrchestrationTopic = {
  task: 'orchestration.task',
  taskLog: 'orchestration.tasklog',
} as const;

/**
 * The classifier's topic for classifications. The classifier subgraph owns it; the contract lives here until
 * that subgraph exists (then it moves to the classifier's contracts file unchanged).
 */
export const ClassifierTopic = {
  classification: 'ml-classifier.classification',
} as const;

/** Mirrors orchestration's `TaskStatus`; the states of the task state machine. */
export const TaskStatus = z.enum([
  'PENDING',
  'CLASSIFYING',
  'QUEUED',
  'RUNNING',
  'AWAITING_INPUT',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** What kind of change a task asks for, as the classifier labels it. */
export const TaskType = z.enum(['BUG_FIX', 'FEATURE', 'REFACTOR', 'TEST', 'DOCUMENTATION', 'CHORE', 'OTHER']);
export type TaskType = z.infer<typeof TaskType>;

/** How hard the classifier judges a task; selects the execution strategy. */
export const TaskComplexity = z.enum(['SIMPLE', 'MEDIUM', 'COMPLEX']);
export type TaskComplexity = z.infer<typeof TaskComplexity>;

/** How an execution runs: SINGLE_SHOT (simple), ITERATIVE (medium), MULTI_AGENT (complex). */
export const ExecutionStrategy = z.enum(['SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT']);
export type ExecutionStrategy = z.infer<typeof ExecutionStrategy>;

/** Queue priority of a task. */
export const TaskPriority = z.enum(['LOW', 'NORMAL', 'HIGH', 'URGENT']);
export type TaskPriority = z.infer<typeof TaskPriority>;

/** A stable error code with a human-readable message, as recorded on a failed execution. */
const executionError = z.object({ code: z.string().min(1).max(100), message: z.string().max(2_000) });

export const TaskCreated = defineEvent({
  type: 'TaskCreated',
  version: 1,
  topic: OrchestrationTopic.task,
  description:
    'A user created a coding task. Carries the text the classifier needs; `strategyOverride` is set when the user chose the strategy.',
  payload: z.object({
    taskId: z.uuid(),
    title: z.string().min(1),
    description: z.string(),
    repository: z.string().nullable(),
    creatorId: z.uuid(),
    priority: TaskPriority,
    strategyOverride: ExecutionStrategy.nullable(),
    /** CLASSIFYING when orchestration waits for a classification, QUEUED when it does not (override). */
    status: TaskStatus,
  }),
});

export const TaskClassified = defineEvent({
  type: 'TaskClassified',
  version: 1,
  topic: ClassifierTopic.classification,
  description:
    "The classifier labelled a task's type and complexity; orchestration picks the strategy from the complexity.",
  payload: z.object({
    taskId: z.uuid(),
    type: TaskType,
    complexity: TaskComplexity,
    /** 0..1, the classifier's confidence in the complexity. */
    confidence: z.number().min(0).max(1),
    /** Which model version produced the classification. */
    modelVersion: z.string().min(1).max(200),
  }),
});

export const TaskStarted = defineEvent({
  type: 'TaskStarted',
  version: 1,
  topic: OrchestrationTopic.task,
  description: 'A worker claimed a task and started an execution attempt.',
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid(),
    attempt: z.number().int().positive(),
    strategy: ExecutionStrategy,
    workerId: z.string().min(1),
  }),
});

export const TaskLogAppended = defineEvent({
  type: 'TaskLogAppended',
  version: 1,
  topic: OrchestrationTopic.taskLog,
  description:
    'Log entries were appended to a task, one event per batch written (never one per line). Entries `fromSeq`..`toSeq` are read through the graph (`taskLogs`).',
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid().nullable(),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
    count: z.number().int().positive(),
    /** Entries of level WARN or ERROR in the batch. */
    warnings: z.number().int().nonnegative(),
    errors: z.number().int().nonnegative(),
  }),
});

export const TaskCompleted = defineEvent({
  type: 'TaskCompleted',
  version: 1,
  topic: OrchestrationTopic.task,
  description: 'An execution succeeded; the task is SUCCEEDED.',
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid(),
    attempt: z.number().int().positive(),
    summary: z.string(),
    changedFiles: z.number().int().nonnegative(),
    pullRequestUrl: z.string().nullable(),
    durationMs: z.number().int().nonnegative(),
    // Optional (added without a new version: older events simply lack them). What a pull request opened for the
    // task is made of; the github subgraph reads them.
    /** The task's repository as its creator named it (`owner/name`, or a local path). */
    repository: z.string().max(500).nullish(),
    /** The task's title. */
    title: z.string().max(500).nullish(),
    /** The branch the agent pushed its work to. */
    branch: z.string().max(255).nullish(),
    /** The pushed commit. */
    commitSha: z.string().max(64).nullish(),
    /** Lines added and deleted, files changed. */
    diffStats: z
      .object({
        filesChanged: z.number().int().nonnegative(),
        additions: z.number().int().nonnegative(),
        deletions: z.number().int().nonnegative(),
      })
      .nullish(),
    /** Outcome of the verification command, when one ran. */
    verification: z.object({ passed: z.boolean(), command: z.string().max(2_000).nullish() }).nullish(),
    /** What the execution's model calls cost, USD. */
    costUsd: z.number().nonnegative().nullish(),
    /** The model that did the work. */
    model: z.string().max(200).nullish(),
  }),
});

export const TaskFailed = defineEvent({
  type: 'TaskFailed',
  version: 1,
  topic: OrchestrationTopic.task,
  description:
    'An execution failed (or its worker was lost too often); the task is FAILED and may be retried.',
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid().nullable(),
    attempt: z.number().int().nonnegative(),
    error: executionError,
  }),
});

export const TaskCancelled = defineEvent({
  type: 'TaskCancelled',
  version: 1,
  topic: OrchestrationTopic.task,
  description: 'A user cancelled a task; a running execution is stopped.',
  payload: z.object({
    taskId: z.uuid(),
    previousStatus: TaskStatus,
    cancelledBy: z.uuid(),
    reason: z.string().max(1_000).nullable(),
  }),
});

export const TaskInputRequested = defineEvent({
  type: 'TaskInputRequested',
  version: 1,
  topic: OrchestrationTopic.task,
  description:
    'A running task asked its creator a question and waits (AWAITING_INPUT) for `provideTaskInput`.',
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid(),
    inputId: z.uuid(),
    question: z.string().min(1),
  }),
});

/** Every orchestration contract (and the classification it consumes), for the global registry. */
export const orchestrationContracts = [
  TaskCreated,
  TaskClassified,
  TaskStarted,
  TaskLogAppended,
  TaskCompleted,
  TaskFailed,
  TaskCancelled,
  TaskInputRequested,
] as const;
