import { z } from 'zod';
import { ChatAgentId } from './chat.js';
import { defineEvent } from './defineEvent.js';

/**
 * Orchestration's events: the life of a coding task (created, started, logged, completed, failed, cancelled).
 * Other contexts react: the classifier classifies `TaskCreated` (its answer, `TaskClassified`, is in
 * `mlClassifier.ts`), the dashboard's activity feed and statistics follow the rest, and the classifier builds
 * training examples from completed and failed tasks.
 *
 * Payloads carry ids and facts, never secrets: log text is not in `TaskLogAppended` (it is redacted and read
 * through the graph), and commands are not in `TaskCreated`.
 */

/**
 * Orchestration's topics, one per aggregate; every event's key is the task id, except on `chat` (the agent's
 * answers to chat messages that created no task), keyed by conversation id.
 */
export const OrchestrationTopic = {
  task: 'orchestration.task',
  taskLog: 'orchestration.tasklog',
  chat: 'orchestration.chat',
} as const;

/**
 * Optional fields of the task events of a task created from a chat message (see `subgraphs/orchestration/src/chat/`):
 * the conversation and the agent participant that posts the event into it. Both or neither are set.
 */
const chatLink = {
  conversationId: z.uuid().optional(),
  agentId: ChatAgentId.optional(),
};

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

/**
 * What an execution really did, the label of the classifier's training examples (complexity from files and
 * lines). Optional in `TaskCompleted` and `TaskFailed` (added in place: producers before it omit it).
 */
export const TaskOutcome = z.object({
  /** Files the change touched. */
  filesChanged: z.number().int().nonnegative(),
  /** Added plus deleted lines, when the executor measured them. */
  linesChanged: z.number().int().nonnegative().nullable(),
  /** Agent tool calls (0 for commands). */
  toolCalls: z.number().int().nonnegative(),
  /** LLM tokens in plus out (0 for commands). */
  tokens: z.number().int().nonnegative(),
});
export type TaskOutcome = z.infer<typeof TaskOutcome>;

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
    ...chatLink,
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
    branch: z.string().max(300).nullish(),
    /**
     * The branch the task started from, for its pull request's base (a CI fix: the failing branch). Optional (added
     * in place: producers before it omit it); absent or null = the repository's default branch.
     */
    baseBranch: z.string().min(1).max(255).nullish(),
    /** The pushed commit. */
    commitSha: z.string().max(100).nullish(),
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
    /**
     * Notes the agent attached to lines of its change (its own review), for line comments on the pull request.
     * Optional (added in place: producers before it omit it); `line` is the line in the new version of `path`.
     */
    reviewNotes: z
      .array(
        z.object({
          path: z.string().min(1).max(500),
          line: z.number().int().positive(),
          body: z.string().min(1).max(5_000),
        }),
      )
      .max(50)
      .nullish(),
    /** What the execution's model calls cost, USD. */
    costUsd: z.number().nonnegative().nullish(),
    /** The model that did the work. */
    model: z.string().max(200).nullish(),
    ...chatLink,
    /** The work done, for the classifier's training examples; absent from producers before it was added. */
    outcome: TaskOutcome.optional(),
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
    ...chatLink,
    /** The work done before the failure, when an execution ran; absent from producers before it was added. */
    outcome: TaskOutcome.optional(),
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
    ...chatLink,
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
    ...chatLink,
  }),
});

export const TaskProgressed = defineEvent({
  type: 'TaskProgressed',
  version: 1,
  topic: OrchestrationTopic.task,
  description:
    "A running task's agent reached a step of its plan (MULTI_AGENT plan and subtasks, review rounds; ITERATIVE and SINGLE_SHOT verification runs): a short note, never one per tool call.",
  payload: z.object({
    taskId: z.uuid(),
    executionId: z.uuid(),
    /** The agent role that reached the step: `agent`, `planner`, `coder` or `reviewer`. */
    role: z.string().min(1).max(40),
    note: z.string().min(1).max(1_000),
    ...chatLink,
  }),
});

export const ChatRequestDeclined = defineEvent({
  type: 'ChatRequestDeclined',
  version: 1,
  topic: OrchestrationTopic.chat,
  description:
    'A chat message addressed the agent and orchestration did not act on it (no right to create tasks, no or bad repository, a task already running, ...); chat posts the reason as the agent.',
  payload: z.object({
    conversationId: z.uuid(),
    /** The message that was declined. */
    messageId: z.uuid(),
    agentId: ChatAgentId,
    requesterId: z.uuid(),
    /** An `ErrorCode` of the registry (FORBIDDEN, BAD_USER_INPUT, ...) or `TASK_BUSY`. */
    code: z.string().min(1).max(100),
    message: z.string().min(1).max(2_000),
    /** The task the message was about, when there is one. */
    taskId: z.uuid().nullable(),
  }),
});

/** Every orchestration contract, for the global registry. */
export const orchestrationContracts = [
  TaskCreated,
  TaskStarted,
  TaskLogAppended,
  TaskCompleted,
  TaskFailed,
  TaskCancelled,
  TaskInputRequested,
  TaskProgressed,
  ChatRequestDeclined,
] as const;
