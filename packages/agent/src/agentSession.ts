import type { BudgetTracker } from './budgetTracker.js';
import { priceOf, type AgentConfig } from './config.js';
import type { ExecutionContext, JsonValue, LogEntryInput, TaskLogSink } from './contract.js';
import { AgentError, AgentErrorCode } from './errors.js';
import type { ConversationMessage, ModelClient, ModelResponse } from './model.js';
import type { Clock, CommandRunner } from './ports.js';
import type { ToolEnvironment } from './toolHandlers.js';
import { toolDefinitions, type ToolName } from './toolSchemas.js';

/** Who is speaking: `agent` (SINGLE_SHOT, ITERATIVE) or one of MULTI_AGENT's roles. */
export type AgentRole = 'agent' | 'planner' | 'coder' | 'reviewer';

/**
 * The execution's log with every entry naming its role in `data.role`: the session's own entries name theirs,
 * the rest (branch, setup, retries of a role's model call) get the role currently at work, `executor` between roles.
 */
export class RoleTaggingLog implements TaskLogSink {
  role: AgentRole | 'executor' = 'executor';
  readonly #inner: TaskLogSink;

  constructor(inner: TaskLogSink) {
    this.#inner = inner;
  }

  log(entry: LogEntryInput): void {
    const data = entry.data;
    const fields =
      data !== null && typeof data === 'object' && !Array.isArray(data)
        ? data
        : data === undefined
          ? {}
          : { value: data };
    this.#inner.log({ ...entry, data: { role: this.role, ...fields } });
  }

  registerSecret(value: string): void {
    this.#inner.registerSecret(value);
  }

  waitForCapacity(): Promise<void> {
    return this.#inner.waitForCapacity();
  }
}

/** Longest tool argument or result kept in a TOOL_CALL log entry, characters. */
const LOG_CAP = 4_000;

function capText(text: string, max = LOG_CAP): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} characters cut]`;
}

/**
 * One execution's shared state: the context, the model, the budgets, the tools' environment and the verify
 * command; it logs every step, message, tool call and model usage with the role that caused it.
 */
export class AgentSession {
  readonly ctx: ExecutionContext;
  readonly config: AgentConfig;
  readonly model: ModelClient;
  readonly tracker: BudgetTracker;
  readonly tools: ToolEnvironment;
  readonly runner: CommandRunner;
  readonly clock: Clock;
  readonly verifyCommand: string | null;
  /** Output of the last verification, fed back to the model when it failed. */
  lastVerification: { passed: boolean; output: string } | null = null;

  constructor(options: {
    ctx: ExecutionContext;
    config: AgentConfig;
    model: ModelClient;
    tracker: BudgetTracker;
    tools: ToolEnvironment;
    runner: CommandRunner;
    clock: Clock;
    verifyCommand: string | null;
  }) {
    this.ctx = options.ctx;
    this.config = options.config;
    this.model = options.model;
    this.tracker = options.tracker;
    this.tools = options.tools;
    this.runner = options.runner;
    this.clock = options.clock;
    this.verifyCommand = options.verifyCommand;
  }

  log(role: AgentRole, entry: Omit<LogEntryInput, 'data'> & { data?: Record<string, JsonValue> }): void {
    this.ctx.log.log({ ...entry, data: { role, ...(entry.data ?? {}) } });
  }

  step(role: AgentRole, message: string, level: LogEntryInput['level'] = 'INFO'): void {
    this.log(role, { level, kind: 'STEP', message });
  }

  /**
   * A step of the plan (a plan, a subtask done, a review verdict, a verification run): logged as a STEP and
   * reported through `ctx.progress`, which posts a short note (at most 500 characters) to the task's chat.
   */
  milestone(role: AgentRole, message: string, level: LogEntryInput['level'] = 'INFO'): void {
    this.step(role, message, level);
    this.ctx.progress?.note(role, message.length > 500 ? `${message.slice(0, 499)}…` : message);
  }

  logToolCall(
    role: AgentRole,
    call: { name: string; arguments: string },
    result: { content: string; isError: boolean },
    durationMs: number,
  ): void {
    this.log(role, {
      level: result.isError ? 'WARN' : 'INFO',
      kind: 'TOOL_CALL',
      message: `${call.name} ${capText(call.arguments, 200)}`,
      data: {
        tool: call.name,
        arguments: capText(call.arguments),
        result: capText(result.content),
        isError: result.isError,
        durationMs: Math.round(durationMs),
      },
    });
  }

  /** One model call: budgets checked first, usage recorded and logged after, text logged as a MESSAGE. */
  async callModel(
    role: AgentRole,
    model: string,
    system: string,
    messages: readonly ConversationMessage[],
    tools: readonly ToolName[],
  ): Promise<ModelResponse> {
    this.tracker.beforeModelCall();
    await this.ctx.log.waitForCapacity();
    // Retries inside the call are logged by the executor: they name this role through the tagging log.
    const tagging = this.ctx.log instanceof RoleTaggingLog ? this.ctx.log : null;
    if (tagging) tagging.role = role;
    let response: ModelResponse;
    try {
      response = await this.model.complete(
        {
          model,
          system,
          messages,
          tools: toolDefinitions(tools),
          maxOutputTokens: this.config.maxOutputTokens,
        },
        { signal: this.ctx.signal, timeoutMs: this.config.requestTimeoutMs },
      );
    } finally {
      if (tagging) tagging.role = 'executor';
    }
    const price = priceOf(this.config.prices, model);
    const costUsd = price
      ? (response.tokensIn * price.input + response.tokensOut * price.output) / 1_000_000
      : 0;
    this.tracker.recordModelCall(response.tokensIn, response.tokensOut, costUsd);
    this.ctx.usage.record({ model, tokensIn: response.tokensIn, tokensOut: response.tokensOut, costUsd });
    const spent = this.tracker.spent;
    this.log(role, {
      level: 'INFO',
      kind: 'LLM_USAGE',
      message: `${model}: ${response.tokensIn} in, ${response.tokensOut} out, $${costUsd.toFixed(6)}${price ? '' : ' (no price for this model; set AGENT_PRICES)'}`,
      data: {
        model,
        provider: this.model.provider,
        tokensIn: response.tokensIn,
        tokensOut: response.tokensOut,
        costUsd,
        priced: price !== null,
        totalTokens: spent.tokensIn + spent.tokensOut,
        totalCostUsd: spent.costUsd,
      },
    });
    if (response.text.trim().length > 0)
      this.log(role, { level: 'INFO', kind: 'MESSAGE', message: response.text });
    return response;
  }

  /** Runs the verification command; logs its output. Null when there is none. */
  async verify(role: AgentRole): Promise<{ passed: boolean; output: string } | null> {
    if (!this.verifyCommand) return null;
    this.step(role, `Verifying: ${this.verifyCommand}`);
    const result = await this.runner.run({
      shell: this.verifyCommand,
      cwd: this.tools.root,
      env: this.tools.env,
      timeoutMs: this.config.commandTimeoutMs,
      maxOutputBytes: this.config.commandOutputMaxBytes,
      network: this.tools.network,
      signal: this.ctx.signal,
    });
    if (result.cancelled || this.ctx.signal.aborted)
      throw new AgentError(AgentErrorCode.AGENT_CANCELLED, 'The execution was stopped during verification.');
    const passed = result.exitCode === 0;
    this.log(role, {
      level: passed ? 'INFO' : 'WARN',
      kind: 'COMMAND_OUTPUT',
      message: capText(result.output, 20_000),
      data: {
        command: this.verifyCommand,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        purpose: 'verify',
      },
      stream: 'verify',
    });
    this.milestone(
      role,
      passed
        ? `Checks pass (\`${this.verifyCommand}\`).`
        : `Checks fail (\`${this.verifyCommand}\`, ${result.timedOut ? 'timed out' : `exit code ${result.exitCode}`}); working on it.`,
      passed ? 'INFO' : 'WARN',
    );
    this.lastVerification = { passed, output: result.output };
    return this.lastVerification;
  }
}
