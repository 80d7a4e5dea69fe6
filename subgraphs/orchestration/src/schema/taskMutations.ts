import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { cancelTask, createTask, provideTaskInput, retryTask } from '../domain/tasks.js';
import { BUDGET_CAPS } from '../domain/validation.js';
import { ExecutionStrategyEnum, TaskPriorityEnum } from './enums.js';
import { CodingTaskRef } from './refs.js';

/**
 * `@cost` of `createTask`: besides the write it queues work for a worker (a clone, a shell or an LLM run), so it
 * weighs five ordinary mutations.
 */
const CREATE_TASK_COST = 50;

const TaskBudgetsInput = builder.inputType('TaskBudgetsInput', {
  description: `Agent budget overrides of one task; a field left out takes the strategy's default. Caps: tokens ${BUDGET_CAPS.tokens.toLocaleString('en-US')}, usd ${BUDGET_CAPS.usd}, toolCalls ${BUDGET_CAPS.toolCalls.toLocaleString('en-US')}, wallTimeSeconds ${BUDGET_CAPS.wallTimeSeconds.toLocaleString('en-US')}.`,
  fields: (t) => ({
    tokens: t.int({
      required: false,
      description: `Input plus output tokens, 1-${BUDGET_CAPS.tokens.toLocaleString('en-US')}.`,
    }),
    usd: t.float({
      required: false,
      description: `Cost, US dollars, above 0 and at most ${BUDGET_CAPS.usd}.`,
    }),
    toolCalls: t.int({
      required: false,
      description: `Tool calls, 1-${BUDGET_CAPS.toolCalls.toLocaleString('en-US')}.`,
    }),
    wallTimeSeconds: t.int({
      required: false,
      description: `Wall time of the agent's work, 1-${BUDGET_CAPS.wallTimeSeconds.toLocaleString('en-US')} seconds.`,
    }),
  }),
});
const CreateTaskInput = builder.inputType('CreateTaskInput', {
  description: 'A new coding task.',
  fields: (t) => ({
    title: t.string({ required: true, description: 'One-line summary, 1-200 printable characters.' }),
    description: t.string({
      required: false,
      description:
        'What to do, up to 20,000 characters; tab and line breaks allowed, no other control characters.',
    }),
    repository: t.string({
      required: false,
      description:
        "`owner/name` on GitHub (connected through the github subgraph: cloned with a short-lived token, the agent's branch pushed back and a pull request opened), or the absolute path or file:// URL of a local git repository the worker clones (the agent pushes its branch back there).",
    }),
    command: t.string({
      required: false,
      description:
        'Shell command to run in the workspace (shell executor), up to 10,000 characters. Without one the LLM agent works on the task.',
    }),
    priority: t.field({
      type: TaskPriorityEnum,
      required: false,
      description: 'Queue priority (default NORMAL).',
    }),
    strategy: t.field({
      type: ExecutionStrategyEnum,
      required: false,
      description: 'Override the strategy the classification would select; the task is queued at once.',
    }),
    timeoutSeconds: t.int({
      required: false,
      description: "Time limit of one execution, 1-86,400 seconds (default: the deployment's).",
    }),
    verifyCommand: t.string({
      required: false,
      description:
        'Agent (tasks without `command`): shell command whose exit code 0 means the work is done, up to 10,000 characters (default: detected, e.g. `npm test`).',
    }),
    setupCommand: t.string({
      required: false,
      description:
        'Agent: shell command that installs the dependencies, up to 10,000 characters (default: detected, e.g. `npm ci`).',
    }),
    allowNetwork: t.boolean({
      required: false,
      description:
        "Agent: let its own commands use the network (default false; setup follows the deployment's AGENT_SETUP_NETWORK).",
    }),
    budgets: t.field({
      type: TaskBudgetsInput,
      required: false,
      description: "Agent: budget overrides (default: the strategy's).",
    }),
    baseBranch: t.string({
      required: false,
      description:
        "The branch to start from, clone and diff against, and the target of the task's pull request (needs `repository`); a git branch name, 1-255 characters (default: the repository's default branch).",
    }),
  }),
});

const ProvideTaskInputInput = builder.inputType('ProvideTaskInputInput', {
  description: "An answer to an AWAITING_INPUT task's question.",
  fields: (t) => ({
    taskId: t.id({ required: true, description: 'The task waiting for input.' }),
    answer: t.string({ required: true, description: 'The answer, 1-10,000 characters.' }),
  }),
});

builder.mutationFields((t) => ({
  createTask: t.field({
    type: CodingTaskRef,
    description:
      'Creates a task (`tasks:write`). It waits for its classification (CLASSIFYING, at most the classification timeout) or, with a strategy override, is queued at once.',
    directives: {
      ...policyDirectives.requiresScopes('tasks:write'),
      ...policyDirectives.cost(CREATE_TASK_COST),
    },
    args: { input: t.arg({ type: CreateTaskInput, required: true, description: 'The task.' }) },
    resolve: (_root, { input }, ctx) =>
      createTask(ctx.deps, ctx.principal, input, { requestId: ctx.requestId }),
  }),
  cancelTask: t.field({
    type: CodingTaskRef,
    description: 'Cancels a task: its creator or an admin. A running execution is stopped within seconds.',
    directives: policyDirectives.requiresScopes('tasks:write'),
    args: {
      id: t.arg.id({ required: true, description: 'The task to cancel.' }),
      reason: t.arg.string({
        required: false,
        description: 'Why, up to 1,000 characters (recorded in TaskCancelled).',
      }),
    },
    resolve: (_root, args, ctx) =>
      cancelTask(
        ctx.deps,
        ctx.principal,
        { id: String(args.id), reason: args.reason },
        { requestId: ctx.requestId },
      ),
  }),
  retryTask: t.field({
    type: CodingTaskRef,
    description: 'Queues a new execution of a FAILED task: its creator or an admin.',
    directives: policyDirectives.requiresScopes('tasks:write'),
    args: { id: t.arg.id({ required: true, description: 'The task to retry.' }) },
    resolve: (_root, args, ctx) => retryTask(ctx.deps, ctx.principal, { id: String(args.id) }),
  }),
  provideTaskInput: t.field({
    type: CodingTaskRef,
    description:
      "Answers an AWAITING_INPUT task's question and queues the task again: its creator or an admin.",
    directives: policyDirectives.requiresScopes('tasks:write'),
    args: { input: t.arg({ type: ProvideTaskInputInput, required: true, description: 'The answer.' }) },
    resolve: (_root, { input }, ctx) =>
      provideTaskInput(ctx.deps, ctx.principal, { taskId: String(input.taskId), answer: input.answer }),
  }),
}));
