import { builder } from '../builder.js';
import type {
  CodingTask,
  ExecutionResult,
  TaskExecution,
  TaskInput,
  TaskLog,
} from '../generated/prisma/client.js';

// Object refs in one module, so that the type modules can refer to each other without import cycles.

/** A coding task; an entity other subgraphs extend (`classification`, `pullRequest`). */
export const CodingTaskRef = builder.objectRef<CodingTask>('CodingTask');
/** One execution attempt of a task. */
export const TaskExecutionRef = builder.objectRef<TaskExecution>('TaskExecution');
/** What an execution produced. */
export const ExecutionResultRef = builder.objectRef<ExecutionResult>('ExecutionResult');
/** A question a task asked and its answer. */
export const TaskInputRef = builder.objectRef<TaskInput>('TaskInput');
/** One task log entry. */
export const TaskLogRef = builder.objectRef<TaskLog>('TaskLog');
