import type { Budgets } from './config.js';
import { AgentError, AgentErrorCode } from './errors.js';
import type { Clock } from './ports.js';

/** What an agent spent so far (persisted with the conversation, so budgets hold across attempts). */
export interface Spent {
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  toolCalls: number;
  modelCalls: number;
  rounds: number;
  /** Wall time of earlier attempts, ms. */
  elapsedMs: number;
}

/** The spend of a task that has not started. */
export const NOTHING_SPENT: Spent = {
  tokensIn: 0,
  tokensOut: 0,
  costUsd: 0,
  toolCalls: 0,
  modelCalls: 0,
  rounds: 0,
  elapsedMs: 0,
};

/** Counts what a task's agent spends and stops it with BUDGET_EXCEEDED, naming the budget, when one runs out. */
export class BudgetTracker {
  readonly budgets: Budgets;
  readonly spent: Spent;
  readonly #clock: Clock;
  readonly #startedAt: number;

  constructor(budgets: Budgets, clock: Clock, spent: Spent = NOTHING_SPENT) {
    this.budgets = budgets;
    this.spent = { ...spent };
    this.#clock = clock;
    this.#startedAt = clock.now();
  }

  /** Wall time over every attempt, ms. */
  elapsedMs(): number {
    return this.spent.elapsedMs + (this.#clock.now() - this.#startedAt);
  }

  /** The spend to persist: wall time so far folded in. */
  snapshot(): Spent {
    return { ...this.spent, elapsedMs: this.elapsedMs() };
  }

  #exceeded(name: keyof Budgets, used: number, limit: number, unit: string): never {
    throw new AgentError(
      AgentErrorCode.BUDGET_EXCEEDED,
      `The ${name} budget is exhausted: ${Number(used.toFixed(4))} of ${limit} ${unit}. The work so far is kept on the branch.`,
      { detail: name },
    );
  }

  /** Before a model call: tokens, USD, wall time, rounds. */
  beforeModelCall(): void {
    const tokens = this.spent.tokensIn + this.spent.tokensOut;
    if (tokens >= this.budgets.tokens) this.#exceeded('tokens', tokens, this.budgets.tokens, 'tokens');
    if (this.spent.costUsd >= this.budgets.usd)
      this.#exceeded('usd', this.spent.costUsd, this.budgets.usd, 'USD');
    if (this.elapsedMs() >= this.budgets.wallTimeMs)
      this.#exceeded('wallTimeMs', this.elapsedMs(), this.budgets.wallTimeMs, 'ms');
    if (this.spent.rounds >= this.budgets.toolRounds)
      this.#exceeded('toolRounds', this.spent.rounds, this.budgets.toolRounds, 'rounds');
  }

  /** Before a tool call: tool calls and wall time. */
  beforeToolCall(): void {
    if (this.spent.toolCalls >= this.budgets.toolCalls)
      this.#exceeded('toolCalls', this.spent.toolCalls, this.budgets.toolCalls, 'tool calls');
    if (this.elapsedMs() >= this.budgets.wallTimeMs)
      this.#exceeded('wallTimeMs', this.elapsedMs(), this.budgets.wallTimeMs, 'ms');
  }

  recordModelCall(tokensIn: number, tokensOut: number, costUsd: number): void {
    this.spent.tokensIn += tokensIn;
    this.spent.tokensOut += tokensOut;
    this.spent.costUsd += costUsd;
    this.spent.modelCalls += 1;
    this.spent.rounds += 1;
  }

  recordToolCall(): void {
    this.spent.toolCalls += 1;
  }
}
