import { TASK_COMPLEXITY_ENUM, TASK_TYPE_ENUM } from '@cap/events';
import { builder } from '../builder.js';

/** The GraphQL enum `TaskStatus` (its values are described in the schema). */
export const TaskStatusEnum = builder.enumType('TaskStatus', {
  description:
    'Where a coding task is in its life. SUCCEEDED and CANCELLED are final; FAILED is final unless retried.',
  values: {
    PENDING: { description: 'Accepted, not yet handed on (only inside the creating transaction).' },
    CLASSIFYING: {
      description:
        'Waiting for the classifier to label type and complexity (at most the classification timeout).',
    },
    QUEUED: { description: 'Waiting for a worker.' },
    RUNNING: { description: 'An execution is running.' },
    AWAITING_INPUT: {
      description: 'The execution asked the creator a question; answer it with `provideTaskInput`.',
    },
    SUCCEEDED: { description: 'Done successfully.' },
    FAILED: { description: 'The last execution failed; `retryTask` queues a new one.' },
    CANCELLED: { description: 'Cancelled by a user.' },
  } as const,
});

/**
 * The GraphQL enums `TaskType` and `TaskComplexity`, declared once in @cap/events for every subgraph that has
 * them (federation merges them only when identical).
 */
export const TaskTypeEnum = builder.enumType(TASK_TYPE_ENUM.name, TASK_TYPE_ENUM);
export const TaskComplexityEnum = builder.enumType(TASK_COMPLEXITY_ENUM.name, TASK_COMPLEXITY_ENUM);

/** The GraphQL enum `ExecutionStrategy` (its values are described in the schema). */
export const ExecutionStrategyEnum = builder.enumType('ExecutionStrategy', {
  description: 'How an execution works on a task.',
  values: {
    SINGLE_SHOT: { description: 'One pass: plan, change, done (simple tasks).' },
    ITERATIVE: {
      description: 'Change, check, repeat until the checks pass (medium tasks; also the default).',
    },
    MULTI_AGENT: {
      description: 'Several cooperating agents: planner, implementers, reviewer (complex tasks).',
    },
  } as const,
});

/** The GraphQL enum `StrategySource` (its values are described in the schema). */
export const StrategySourceEnum = builder.enumType('StrategySource', {
  description: "Where a task's strategy came from.",
  values: {
    OVERRIDE: { description: 'The creator chose it.' },
    CLASSIFICATION: { description: "The classifier's complexity selected it." },
    DEFAULT: { description: 'No classification arrived in time: the configured default applies.' },
  } as const,
});

/** The GraphQL enum `TaskPriority` (its values are described in the schema). */
export const TaskPriorityEnum = builder.enumType('TaskPriority', {
  description: 'Queue priority: workers take higher priorities first, then older tasks.',
  values: {
    LOW: { description: 'After everything else.' },
    NORMAL: { description: 'The default.' },
    HIGH: { description: 'Before NORMAL and LOW.' },
    URGENT: { description: 'First.' },
  } as const,
});

/** The GraphQL enum `ExecutionStatus` (its values are described in the schema). */
export const ExecutionStatusEnum = builder.enumType('ExecutionStatus', {
  description: 'Where one execution attempt is.',
  values: {
    QUEUED: { description: 'Waiting for a worker.' },
    RUNNING: { description: 'A worker holds it under a lease it renews.' },
    SUCCEEDED: { description: 'Finished successfully.' },
    FAILED: { description: 'Finished with an error (see its result).' },
    CANCELLED: { description: 'Stopped because the task was cancelled.' },
    AWAITING_INPUT: {
      description: 'Ended with a question for the creator; the answer starts a new attempt.',
    },
    LOST: {
      description: 'Its worker stopped renewing the lease (crash) or shut down; a new attempt may follow.',
    },
  } as const,
});

/** The GraphQL enum `LogLevel` (its values are described in the schema). */
export const LogLevelEnum = builder.enumType('LogLevel', {
  description: 'Severity of a log entry.',
  values: {
    DEBUG: { description: 'Detail for troubleshooting.' },
    INFO: { description: 'Normal progress.' },
    WARN: { description: 'Something unexpected that did not stop the work.' },
    ERROR: { description: 'A failure.' },
  } as const,
});

/** The GraphQL enum `LogKind` (its values are described in the schema). */
export const LogKindEnum = builder.enumType('LogKind', {
  description: 'What a log entry records.',
  values: {
    STEP: { description: 'A step of the execution (started, cloning, exited...).' },
    TOOL_CALL: { description: 'A tool the agent called, with its arguments in `data`.' },
    COMMAND_OUTPUT: { description: 'One line a command printed; `data.stream` is stdout or stderr.' },
    LLM_USAGE: { description: 'Tokens and cost of an LLM call, in `data`.' },
    MESSAGE: { description: 'A message from the agent to the user.' },
  } as const,
});

/** The GraphQL enum `TaskOrderField` (its values are described in the schema). */
export const TaskOrderFieldEnum = builder.enumType('TaskOrderField', {
  description: 'What to sort tasks by.',
  values: {
    CREATED_AT: { description: 'Creation time.' },
    UPDATED_AT: { description: 'Time of the last change.' },
    PRIORITY: { description: 'Priority (URGENT highest), then creation time.' },
  } as const,
});

/** The GraphQL enum `SortDirection` (its values are described in the schema). */
export const SortDirectionEnum = builder.enumType('SortDirection', {
  description: 'Sort direction.',
  values: {
    ASC: { description: 'Smallest (oldest, lowest) first.' },
    DESC: { description: 'Largest (newest, highest) first.' },
  } as const,
});
