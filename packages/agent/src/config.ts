import { envInt } from '@cap/runtime';
import { z } from 'zod';
import type { ExecutionStrategy } from './contract.js';

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Hard limits of one task's agent work; the first one reached ends the execution with BUDGET_EXCEEDED. */
export interface Budgets {
  /** Input plus output tokens over every model call. */
  tokens: number;
  /** Cost in USD, from the price table. */
  usd: number;
  /** Tool calls the model may make. */
  toolCalls: number;
  /** Wall time of the agent's work (setup excluded), ms. */
  wallTimeMs: number;
  /** Model rounds (one model call and its tool calls). */
  toolRounds: number;
}

/**
 * Budgets per strategy: SINGLE_SHOT is one small pass, ITERATIVE a longer loop, MULTI_AGENT covers a planner,
 * a coder and a reviewer.
 */
export const DEFAULT_BUDGETS: Record<ExecutionStrategy, Budgets> = {
  SINGLE_SHOT: { tokens: 200_000, usd: 1, toolCalls: 25, wallTimeMs: 10 * 60_000, toolRounds: 8 },
  ITERATIVE: { tokens: 1_000_000, usd: 5, toolCalls: 150, wallTimeMs: 30 * 60_000, toolRounds: 60 },
  MULTI_AGENT: { tokens: 2_000_000, usd: 10, toolCalls: 300, wallTimeMs: 60 * 60_000, toolRounds: 120 },
};

/**
 * Prices of well-known models, USD per million input/output tokens (list prices when this table was written;
 * override or extend with AGENT_PRICES). A model missing here costs 0 and is logged once per call as unpriced.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-sonnet-4-0': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku-latest': { input: 0.8, output: 4 },
};

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value.length === 0 ? undefined : value))
  .optional();
const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((value) =>
      value === undefined || value === '' ? fallback : value === 'true' || value === '1',
    );

const priceSchema = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative() });
const budgetsOverride = z
  .object({
    tokens: z.number().positive(),
    usd: z.number().positive(),
    toolCalls: z.number().int().positive(),
    wallTimeMs: z.number().int().positive(),
    toolRounds: z.number().int().positive(),
  })
  .partial();
const jsonOf = <T extends z.ZodType>(schema: T, name: string) =>
  optionalString.transform((text, ctx): z.output<T> | undefined => {
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} is not valid JSON` });
      return z.NEVER;
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      ctx.addIssue({ code: 'custom', message: `${name}: ${z.prettifyError(result.error)}` });
      return z.NEVER;
    }
    return result.data;
  });

/**
 * The agent's environment variables. Every variable is optional; a deployable's `config.ts` embeds this
 * schema (`agentEnvSchema.shape`) and passes the parsed values to {@link agentConfigFromEnv}.
 */
export const agentEnvSchema = z.object({
  /** `openai` (any OpenAI-compatible server) or `anthropic`. Default: anthropic when ANTHROPIC_API_KEY is set, else openai when OPENAI_API_KEY or OPENAI_BASE_URL is set. */
  AGENT_PROVIDER: z.enum(['openai', 'anthropic']).optional(),
  /** Model name, e.g. `gpt-4.1`, `claude-sonnet-4-5`, `qwen2.5-coder:7b`. No default: without it the agent is not configured. */
  AGENT_MODEL: optionalString,
  /** MULTI_AGENT planner model. Default: AGENT_MODEL. */
  AGENT_PLANNER_MODEL: optionalString,
  /** MULTI_AGENT coder model. Default: AGENT_MODEL. */
  AGENT_CODER_MODEL: optionalString,
  /** MULTI_AGENT reviewer model. Default: AGENT_MODEL. */
  AGENT_REVIEWER_MODEL: optionalString,
  /** OpenAI (or compatible server) API key. Secret; optional for local servers (Ollama, vLLM, LM Studio). */
  OPENAI_API_KEY: optionalString,
  /** OpenAI-compatible base URL. Default: https://api.openai.com/v1. */
  OPENAI_BASE_URL: optionalString.pipe(z.url().optional()),
  /** Anthropic API key. Secret. */
  ANTHROPIC_API_KEY: optionalString,
  /** Anthropic base URL. Default: https://api.anthropic.com. */
  ANTHROPIC_BASE_URL: optionalString.pipe(z.url().optional()),
  /** JSON `{ "<model>": { "input": usdPerMTok, "output": usdPerMTok } }`, merged over the built-in price table. */
  AGENT_PRICES: jsonOf(z.record(z.string(), priceSchema), 'AGENT_PRICES'),
  /** JSON `{ "<STRATEGY>": { tokens, usd, toolCalls, wallTimeMs, toolRounds } }` (partial), over the defaults. */
  AGENT_BUDGETS: jsonOf(
    z.partialRecord(z.enum(['SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT']), budgetsOverride),
    'AGENT_BUDGETS',
  ),
  /** One model request's time limit, ms (1 to 3,600,000 = an hour). Default 120000. */
  AGENT_REQUEST_TIMEOUT_MS: envInt(1, 3_600_000).default(120_000),
  /** A stream that sends nothing for this long is abandoned and retried, ms (1 to 3,600,000). Default 30000. */
  AGENT_STREAM_IDLE_TIMEOUT_MS: envInt(1, 3_600_000).default(30_000),
  /** Retries of a failed model call (429, 5xx, reset, timeout, stall) before LLM_UNAVAILABLE (0 to 100). Default 5. */
  AGENT_MAX_RETRIES: envInt(0, 100).default(5),
  /** First retry delay, ms (1 to 3,600,000); doubles per retry, with full jitter. Default 1000. */
  AGENT_RETRY_BASE_DELAY_MS: envInt(1, 3_600_000).default(1_000),
  /** Longest wait before a retry, ms (1 to 3,600,000), Retry-After included. Default 60000. */
  AGENT_RETRY_MAX_DELAY_MS: envInt(1, 3_600_000).default(60_000),
  /** Most tokens one model response may have (1 to 1,000,000). Default 8192. */
  AGENT_MAX_OUTPUT_TOKENS: envInt(1, 1_000_000).default(8_192),
  /** The model's context window, tokens (1 to 100,000,000); older observations are condensed at 75 % of it. Default 128000. */
  AGENT_CONTEXT_WINDOW_TOKENS: envInt(1, 100_000_000).default(128_000),
  /** Whether dependency installation (setup) may use the network. Default true. */
  AGENT_SETUP_NETWORK: booleanFlag(true),
  /** Time limit of setup (dependency installation), ms (1 to 86,400,000 = a day). Default 900000. */
  AGENT_SETUP_TIMEOUT_MS: envInt(1, 86_400_000).default(900_000),
  /** Time limit of one command the agent runs (and of verification), ms (1 to 86,400,000). Default 300000. */
  AGENT_COMMAND_TIMEOUT_MS: envInt(1, 86_400_000).default(300_000),
  /** Output kept of one command, bytes (1 to 67,108,864 = 64 MiB); the rest is cut with a truncation mark. Default 65536. */
  AGENT_COMMAND_OUTPUT_MAX_BYTES: envInt(1, 64 * 1024 * 1024).default(64 * 1024),
  /** Most characters of the unified diff kept in the result (1 to 100,000,000). Default 200000. */
  AGENT_DIFF_MAX_CHARS: envInt(1, 100_000_000).default(200_000),
  /** MULTI_AGENT: review rounds before the reviewer's last word is final (1 to 100). Default 2. */
  AGENT_MAX_REVIEW_ROUNDS: envInt(1, 100).default(2),
  /** Commit author name. Default `Coding Agent`. */
  AGENT_GIT_AUTHOR_NAME: optionalString.default('Coding Agent'),
  /** Commit author email. Default `agent@localhost`. */
  AGENT_GIT_AUTHOR_EMAIL: optionalString.default('agent@localhost'),
});
/** The raw, parsed environment. */
export type AgentEnv = z.output<typeof agentEnvSchema>;

/** A provider and how to reach it. */
export type ProviderConfig =
  | { kind: 'openai'; apiKey: string | undefined; baseUrl: string }
  | { kind: 'anthropic'; apiKey: string; baseUrl: string };

/** The agent's resolved configuration. */
export interface AgentConfig {
  /** Null when no model is configured: tasks fail with AGENT_NOT_CONFIGURED and `missing` says why. */
  provider: ProviderConfig | null;
  missing: string | null;
  models: { default: string; planner: string; coder: string; reviewer: string } | null;
  prices: Record<string, ModelPrice>;
  budgets: Record<ExecutionStrategy, Budgets>;
  requestTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxOutputTokens: number;
  contextWindowTokens: number;
  setupNetwork: boolean;
  setupTimeoutMs: number;
  commandTimeoutMs: number;
  commandOutputMaxBytes: number;
  diffMaxChars: number;
  maxReviewRounds: number;
  gitAuthor: { name: string; email: string };
}

/**
 * Parses the agent's variables out of `env` (e.g. `process.env`) and resolves them.
 * @throws {z.ZodError} when a variable is malformed (a bad number, URL or JSON)
 */
export function agentConfigFromEnv(env: Record<string, string | undefined>): AgentConfig {
  const raw = agentEnvSchema.parse(env);
  const kind =
    raw.AGENT_PROVIDER ??
    (raw.ANTHROPIC_API_KEY ? 'anthropic' : raw.OPENAI_API_KEY || raw.OPENAI_BASE_URL ? 'openai' : undefined);
  let provider: ProviderConfig | null = null;
  let missing: string | null = null;
  if (kind === undefined) {
    missing =
      'No model provider is configured. Set AGENT_MODEL and either OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server such as Ollama) or ANTHROPIC_API_KEY; AGENT_PROVIDER picks one when both are set.';
  } else if (kind === 'anthropic' && !raw.ANTHROPIC_API_KEY) {
    missing = 'AGENT_PROVIDER is anthropic but ANTHROPIC_API_KEY is not set.';
  } else if (kind === 'openai' && !raw.OPENAI_API_KEY && !raw.OPENAI_BASE_URL) {
    missing =
      'AGENT_PROVIDER is openai but neither OPENAI_API_KEY nor OPENAI_BASE_URL (a local server) is set.';
  } else if (!raw.AGENT_MODEL) {
    missing = `AGENT_MODEL is not set: name the ${kind} model the agent should use.`;
  } else {
    provider =
      kind === 'anthropic'
        ? {
            kind,
            apiKey: raw.ANTHROPIC_API_KEY!,
            baseUrl: raw.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com',
          }
        : { kind, apiKey: raw.OPENAI_API_KEY, baseUrl: raw.OPENAI_BASE_URL ?? 'https://api.openai.com/v1' };
  }
  const model = raw.AGENT_MODEL;
  const budgets = { ...DEFAULT_BUDGETS };
  for (const [strategy, override] of Object.entries(raw.AGENT_BUDGETS ?? {})) {
    const key = strategy as ExecutionStrategy;
    budgets[key] = { ...budgets[key], ...override };
  }
  return {
    provider,
    missing,
    models:
      provider && model
        ? {
            default: model,
            planner: raw.AGENT_PLANNER_MODEL ?? model,
            coder: raw.AGENT_CODER_MODEL ?? model,
            reviewer: raw.AGENT_REVIEWER_MODEL ?? model,
          }
        : null,
    prices: { ...DEFAULT_PRICES, ...(raw.AGENT_PRICES ?? {}) },
    budgets,
    requestTimeoutMs: raw.AGENT_REQUEST_TIMEOUT_MS,
    streamIdleTimeoutMs: raw.AGENT_STREAM_IDLE_TIMEOUT_MS,
    maxRetries: raw.AGENT_MAX_RETRIES,
    retryBaseDelayMs: raw.AGENT_RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: raw.AGENT_RETRY_MAX_DELAY_MS,
    maxOutputTokens: raw.AGENT_MAX_OUTPUT_TOKENS,
    contextWindowTokens: raw.AGENT_CONTEXT_WINDOW_TOKENS,
    setupNetwork: raw.AGENT_SETUP_NETWORK,
    setupTimeoutMs: raw.AGENT_SETUP_TIMEOUT_MS,
    commandTimeoutMs: raw.AGENT_COMMAND_TIMEOUT_MS,
    commandOutputMaxBytes: raw.AGENT_COMMAND_OUTPUT_MAX_BYTES,
    diffMaxChars: raw.AGENT_DIFF_MAX_CHARS,
    maxReviewRounds: raw.AGENT_MAX_REVIEW_ROUNDS,
    gitAuthor: {
      name: raw.AGENT_GIT_AUTHOR_NAME ?? 'Coding Agent',
      email: raw.AGENT_GIT_AUTHOR_EMAIL ?? 'agent@localhost',
    },
  };
}

/** Cost of one call in USD, or null when the model has no price. Matches exact names, then dated variants (`gpt-4o-2024-08-06`). */
export function priceOf(prices: Record<string, ModelPrice>, model: string): ModelPrice | null {
  if (prices[model]) return prices[model];
  const base = Object.keys(prices)
    .filter((name) => model.startsWith(`${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  return base ? prices[base]! : null;
}
