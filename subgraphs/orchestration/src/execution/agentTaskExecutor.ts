import { realpath } from 'node:fs/promises';
import { createAgentExecutor, type AgentConfig, type ConversationStore } from '@cap/agent';
import type { SandboxLimits } from '@cap/sandbox';
import { ExecutionErrorCode } from '../domain/errors.js';
import type { ExecutableTask, ExecutionContext, ExecutionOutcome, Executor } from './executor.js';
import { SandboxCommandRunner } from './sandboxCommandRunner.js';

/** Options of the {@link AgentTaskExecutor}. */
export interface AgentTaskExecutorOptions {
  /** The agent's configuration (orchestration's config.ts parses its variables). */
  config: AgentConfig;
  /** Where a task's conversation waits while it asks a question (PostgreSQL in production). */
  conversations: ConversationStore;
  /** PATH of the agent's commands inside the sandbox. */
  path: string;
  /** The command sandbox's limits (COMMAND_*), for every command the agent runs. */
  limits: SandboxLimits;
  /** After SIGTERM, how long a stopped command's processes have before SIGKILL, ms. */
  killGraceMs: number;
  /** Whether workspaces of GitHub repositories are cloned here (GITHUB_SUBGRAPH_URL is set). */
  github?: boolean;
}

/**
 * Runs tasks without a shell `command` with the LLM agent (`@cap/agent`): per execution it binds the agent to the
 * execution's sandbox and workspace (a {@link SandboxCommandRunner} that may reach the task's local origin only
 * for git's fetch and push) and hands over. What the agent cannot do is refused first, with a code that says why:
 * no model (AGENT_NOT_CONFIGURED, naming the variables), no sandbox (SANDBOX_UNAVAILABLE), no repository the
 * workspace could clone (NO_REPOSITORY). GitHub repositories come cloned from the host-side mirror the workspace
 * made (`GithubRepositories`); their branch is published from the host, never pushed from the sandbox.
 */
export class AgentTaskExecutor implements Executor {
  readonly name = 'agent';
  readonly #options: AgentTaskExecutorOptions;

  constructor(options: AgentTaskExecutorOptions) {
    this.#options = options;
  }

  canExecute(task: ExecutableTask): boolean {
    return task.command === null || task.command.trim().length === 0;
  }

  async execute(ctx: ExecutionContext): Promise<ExecutionOutcome> {
    const { config } = this.#options;
    if (!config.provider || !config.models) {
      const message = config.missing ?? 'No model is configured.';
      ctx.log.log({ level: 'ERROR', kind: 'STEP', message: `AGENT_NOT_CONFIGURED: ${message}` });
      return failed(ExecutionErrorCode.AGENT_NOT_CONFIGURED, message);
    }
    if (!ctx.sandbox.available) {
      ctx.log.log({
        level: 'ERROR',
        kind: 'STEP',
        message: `No command sandbox: ${ctx.sandbox.reason}. Fix: ${ctx.sandbox.fix}.`,
      });
      return failed(
        ExecutionErrorCode.SANDBOX_UNAVAILABLE,
        `The agent runs nothing without the command sandbox: ${ctx.sandbox.reason}.`,
        ctx.sandbox.fix,
      );
    }
    const repository = ctx.task.repository;
    if (!repository) {
      return failed(
        ExecutionErrorCode.NO_REPOSITORY,
        'The agent works on a git repository and this task names none: set `repository` to the absolute path of a local git repository, or give the task a `command`.',
      );
    }
    if (!repository.startsWith('/') && !this.#options.github) {
      return failed(
        ExecutionErrorCode.NO_REPOSITORY,
        `The agent cannot reach ${repository}: this worker has no github subgraph (set GITHUB_SUBGRAPH_URL). Use the absolute path of a local git repository, or connect GitHub.`,
      );
    }
    if (!ctx.workspace.cloned || !ctx.workspace.origin) {
      return failed(
        ExecutionErrorCode.NO_REPOSITORY,
        `${repository} could not be cloned into the workspace (see the task log).`,
      );
    }
    // A local repository, or the host-side mirror of a GitHub one: the sandbox fetches from it; the agent's branch
    // goes back through git push (local) or the mirror's publisher (GitHub, credentials on the host only).
    const origin = await realpath(ctx.workspace.origin).catch(() => null);
    if (!origin)
      return failed(ExecutionErrorCode.NO_REPOSITORY, `${repository} does not exist on this worker.`);
    const publisher = ctx.workspace.publisher;
    const runner = new SandboxCommandRunner({
      sandbox: ctx.sandbox.sandbox,
      workspace: await realpath(ctx.workspace.dir),
      controlDir: ctx.workspace.controlDir,
      origin,
      limits: this.#options.limits,
      killGraceMs: this.#options.killGraceMs,
    });
    const agent = createAgentExecutor({
      config,
      runner,
      repositories: {
        locate: async () => ({ url: origin, ...(publisher ? { publisher } : {}) }),
      },
      conversations: this.#options.conversations,
      path: this.#options.path,
    });
    return agent.execute({ ...ctx, task: { ...ctx.task, repository: origin } });
  }
}

function failed(code: ExecutionErrorCode, message: string, cause?: string): ExecutionOutcome {
  return { kind: 'failed', error: { code, message, ...(cause ? { cause } : {}) } };
}
